// The form renderer and the registration page: the agent registers a
// ticket through the real widgets (address level by level included), sees
// the server's error next to a wrong field, gets a reloaded page's input
// back, keeps a draft on the server, and a field published into the form
// shows without a rebuild. Field names, labels, options and action labels
// are read from the server (form, myWorkbench, addressOptions, checkForm).
import assert from 'node:assert/strict'
import { field, fill, formQuery, pick } from './fields.mjs'

export default async function forms(t) {
  const { url, gql, login, shots, join, wait, step } = t
  const token = await login(url, 'agent')
  const benches = (await gql(url, token, '{ myWorkbench { name menu { name label page form actions { name label draft required } } } }')).myWorkbench
  let bench, entry
  for (const w of benches) {
    const e = w.menu.find((e) => e.page === 'register')
    if (e && !bench) [bench, entry] = [w.name, e]
  }
  const form = bench && (await gql(url, token, formQuery, { n: entry.form })).form
  const path = bench && `/w/${bench}/${entry.name}`
  const phones = form ? form.fields.filter((f) => f.caller === 'phone') : []
  const summary = form && form.fields.find((f) => f.name === form.summary)
  const address = form && form.fields.find((f) => f.levels.length > 0)
  const number = '13904710017'
  let page, chosen, created

  await step('the agent opens the registration page from the menu, pre-filled from the call', async () => {
    assert.ok(bench, "the agent's workbench has a registration entry")
    assert.ok(entry.actions.some((a) => !a.draft), 'the entry offers an action that registers')
    page = await t.page('agent', `${path}?caller=${number}&call=e2e-call-1`)
    await page.waitForSelector('[data-test=register]')
    await page.waitForSelector(`[data-test=menu-${bench}-${entry.name}]`)
    const hidden = (await gql(url, token, 'query($n: String!) { checkForm(name: $n, input: {}, partial: true) { hidden } }', { n: form.name })).checkForm.hidden
    for (const f of form.fields) {
      if (hidden.includes(f.name)) assert.equal(await page.locator(field(f.name)).count(), 0, `${f.name} hidden`)
      else assert.ok((await page.textContent(field(f.name))).includes(f.label), `${f.name} shown with its label`)
    }
    assert.ok(phones.length > 0, 'the form has a caller phone field')
    for (const f of phones) assert.equal(await page.inputValue(`${field(f.name)} input`), number)
    if (form.callField) assert.equal(await page.inputValue(`${field(form.callField)} input`), 'e2e-call-1')
    for (const a of entry.actions) await page.waitForSelector(`[data-test=register] .bar >> text=${a.label}`)
  })

  await step('a wrong phone number gets the server message next to its field as it is typed', async () => {
    const f = phones[phones.length - 1]
    const bad = '12345'
    const want = (await gql(url, token, 'query($n: String!, $in: JSON!) { checkForm(name: $n, input: $in, partial: true) { errors { field message } } }', { n: form.name, in: { [f.name]: bad } })).checkForm.errors
    assert.equal(want[0].field, f.name)
    await page.fill(`${field(f.name)} input`, bad)
    await page.waitForSelector(`${field(f.name)} [data-test=error] >> text=${want[0].message}`)
    await page.fill(`${field(f.name)} input`, number)
    await page.waitForSelector(`${field(f.name)} [data-test=error]`, { state: 'detached' })
  })

  await step('the agent fills every required field and the address level by level', async () => {
    const required = new Set([...entry.actions.find((a) => !a.draft).required, ...form.fields.filter((f) => f.required).map((f) => f.name)])
    for (const f of form.fields) {
      if (!required.has(f.name) || f.computed || f.caller || (await page.locator(field(f.name)).count()) === 0) continue
      await fill(page, f, f === summary ? 'e2e 小区暖气不热已三天' : `e2e ${f.label}：楼内暖气片不热，室温只有十二度，已三天`)
    }
    assert.ok(address, 'the form has an address field')
    chosen = {}
    let parent = null
    for (const l of address.levels) {
      const opts = (await gql(url, token, 'query($f: String!, $a: String!, $l: String!, $p: String) { addressOptions(form: $f, field: $a, level: $l, parent: $p) { code name } }',
        { f: form.name, a: address.name, l: l.key, p: parent })).addressOptions
      if (opts.length === 0) break
      const o = opts.find((x) => x.name === '赛罕区') ?? opts[0]
      await pick(page, `${field(address.name)} .level >> nth=${address.levels.indexOf(l)}`, o.name)
      chosen[l.key] = o.code
      parent = o.code
    }
    assert.ok(Object.keys(chosen).length >= 2, 'at least two levels picked')
    await page.fill(`${field(address.name)} input[data-test=detail]`, '大学东街 1 号 2 单元')
    const tree = form.fields.find((f) => f.type === 'tree')
    if (tree) await fill(page, tree)
    await page.waitForSelector('[data-test=draft-status] >> text=已自动保存于本机')
    await page.evaluate(() => document.querySelector('[data-test=register]').scrollIntoView())
    await page.waitForTimeout(200)
    await page.screenshot({ path: join(shots, 'register.png') })
  })

  await step('a reload brings back what was typed', async () => {
    await page.reload()
    await page.waitForSelector('[data-test=restored]')
    assert.equal(await page.inputValue(`${field(summary.name)} input`), 'e2e 小区暖气不热已三天')
    assert.equal(await page.inputValue(`${field(address.name)} input[data-test=detail]`), '大学东街 1 号 2 单元')
    const levels = await page.locator(`${field(address.name)} .level`).allTextContents()
    assert.ok(levels.join(' ').includes('赛罕区'), 'the address levels show their names: ' + levels)
  })

  await step('Ctrl+Enter registers with the first action and opens the new ticket', async () => {
    await page.click(`${field(summary.name)} input`)
    await page.keyboard.press('Control+Enter')
    await page.waitForURL(/\/t\/\d+$/, { timeout: wait })
    created = page.url().split('/t/')[1]
    const tk = (await gql(url, token, 'query($id: ID!) { ticket(id: $id) { number fields } }', { id: created })).ticket
    assert.equal(tk.fields[summary.name], 'e2e 小区暖气不热已三天')
    for (const [k, code] of Object.entries(chosen)) assert.equal(tk.fields[address.name][k], code)
    assert.equal(tk.fields[phones[0].name], number)
    created = tk
    const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('hotline.draft')))
    assert.deepEqual(stored, [], 'the local draft is gone once sent')
  })

  await step('typing the same call again shows it as in transit and similar; Ctrl+S keeps a draft on the server', async () => {
    await page.goto(url + `${path}?caller=${number}`)
    await page.waitForSelector('[data-test=register]')
    await page.waitForSelector(`[data-test=in-transit] >> text=${created.number}`)
    await page.fill(`${field(summary.name)} input`, 'e2e 小区暖气不热已三天')
    await page.waitForSelector(`[data-test=similar] >> text=${created.number}`)
    const draft = entry.actions.find((a) => a.draft)
    assert.ok(draft, 'the entry offers a draft action')
    await page.keyboard.press('Control+s')
    const msg = await page.textContent(`.el-message--success >> text=${draft.label}`)
    const n = /工单 (\S+?)（/.exec(msg)?.[1]
    assert.ok(n, msg)
    assert.equal(await page.inputValue(`${field(summary.name)} input`), '', 'a fresh form after the draft')
    const mine = (await gql(url, token, '{ myWorkTickets(first: 50) { edges { node { number fields } } } }')).myWorkTickets.edges.map((e) => e.node)
    assert.equal(mine.find((x) => x.number === n)?.fields[summary.name], 'e2e 小区暖气不热已三天', 'the draft is among the agent\'s to-dos')
  })

  await step('a field published into the form appears on the page without a rebuild', async () => {
    const admin = await login(url, 'admin')
    const docs = (await gql(url, admin, 'query($k: String) { configDocuments(kind: $k) { name source } }', { k: 'form' })).configDocuments
    const original = docs.find((d) => d.name === form.name).source
    const lines = original.split('\n')
    const start = lines.findIndex((l) => /^fields:/.test(l))
    let end = lines.findIndex((l, i) => i > start && /^[a-z_]+:/.test(l))
    if (end < 0) end = lines.length
    while (end > start && lines[end - 1].trim() === '') end--
    lines.splice(end, 0, '  - {name: e2e_best_time, label: 方便回访时段, type: text, max: 20, placeholder: 如工作日上午}')
    const publish = async (source, note) =>
      (await gql(url, admin, 'mutation($k: String!, $n: String!, $s: String!, $note: String) { publishConfig(kind: $k, name: $n, source: $s, note: $note) { ok problems { text } } }',
        { k: 'form', n: form.name, s: source, note })).publishConfig
    const r = await publish(lines.join('\n'), 'e2e: a new field')
    assert.ok(r.ok, JSON.stringify(r.problems))
    try {
      await page.reload()
      await page.waitForSelector(`${field('e2e_best_time')} >> text=方便回访时段`)
      await page.fill(`${field('e2e_best_time')} input`, '工作日上午')
      await page.waitForSelector('[data-test=draft-status] >> text=已自动保存于本机')
    } finally {
      const back = await publish(original, 'e2e: the form as it was')
      assert.ok(back.ok, JSON.stringify(back.problems))
    }
  })
}
