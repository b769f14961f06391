// The query page (工单查询) and exports: the auditor searches by a word of
// a demo ticket, narrows by a facet, sees the server's count, exports to
// xlsx and downloads a workbook holding the matched tickets; a list of
// 1,000 rows renders and scrolls to its last row.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { inflateRawSync } from 'node:zlib'

const SEARCH = `query($q: String!, $f: TicketFilter, $n: Int) {
  searchTickets(query: $q, filter: $f, first: $n) { totalCount edges { node { id number fields } } }
}`

// unzip reads one entry of a zip archive by its central directory (Go's
// archive/zip, which excelize writes with, puts sizes only there).
function unzip(buf, name) {
  let end = buf.length - 22
  while (end >= 0 && buf.readUInt32LE(end) !== 0x06054b50) end--
  assert.ok(end >= 0, 'a zip archive has an end of central directory')
  let at = buf.readUInt32LE(end + 16)
  const count = buf.readUInt16LE(end + 10)
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50)
    const method = buf.readUInt16LE(at + 10)
    const size = buf.readUInt32LE(at + 20)
    const n = buf.readUInt16LE(at + 28)
    const skip = n + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32)
    const local = buf.readUInt32LE(at + 42)
    if (buf.toString('utf8', at + 46, at + 46 + n) === name) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28)
      const data = buf.subarray(start, start + size)
      return (method === 8 ? inflateRawSync(data) : data).toString('utf8')
    }
    at += 46 + skip
  }
  return null
}

export default async function search(t) {
  const { url, gql, login, shots, join, step } = t
  const token = await login(url, 'auditor')
  const { myWorkbench } = await gql(url, token, '{ myWorkbench { name menu { name label page form columns facets } } }')
  const bench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'search'))
  assert.ok(bench, "the auditor's workbench has a query page")
  const entry = bench.menu.find((e) => e.page === 'search')
  const path = `/w/${bench.name}/${entry.name}`
  let page, word, total

  await step('the auditor searches by a word of a demo ticket and sees the server count', async () => {
    // A two-character word from a demo ticket's title (the entry's first
    // column): of the newest ten, the one found in most tickets.
    const newest = (await gql(url, token, SEARCH, { q: '', n: 10 })).searchTickets.edges.map((e) => String(e.node.fields[entry.columns[0]] ?? ''))
    total = 0
    for (const title of newest) {
      const w = [...title].slice(0, 2).join('')
      if ([...w].length < 2) continue
      const n = (await gql(url, token, SEARCH, { q: w, n: 1 })).searchTickets.totalCount
      if (n > total) [word, total] = [w, n]
    }
    assert.ok(total > 0, `a word of ${JSON.stringify(newest)} finds tickets`)
    page = await t.page('auditor', path)
    await page.waitForSelector(`[data-test=list-title] >> text=${entry.label}`)
    await page.fill('input[data-test=search-query]', word)
    await page.press('input[data-test=search-query]', 'Enter')
    await page.waitForURL((u) => new URL(u).searchParams.get('q') === word)
    await page.waitForFunction((n) => document.querySelector('[data-test=search-total]')?.textContent?.includes(`共 ${n}`), total)
    await page.waitForSelector('[data-test=ticket-row] [data-test=highlight] mark')
    const marked = await page.textContent('[data-test=ticket-row] [data-test=highlight] mark')
    assert.ok(word.includes(marked) || marked.includes(word), `the highlight marks the word: ${marked}`)
    // The help of the box is the server's description of the words.
    assert.ok(await page.isVisible('[data-test=search-help]'))
  })

  await step('a facet narrows the search to the count it showed, as the server counts', async () => {
    const value = page.locator('[data-test=facet-value]').filter({ hasNot: page.locator('.active') })
    const n = await value.count()
    assert.ok(n > 0, 'facet values are shown')
    // The first value that narrows (its count below the total).
    let pick
    for (let i = 0; i < n && !pick; i++) {
      const v = value.nth(i)
      if (Number(await v.getAttribute('data-count')) < total) pick = v
    }
    assert.ok(pick, 'a facet value narrows the search')
    const facet = await pick.getAttribute('data-facet')
    const chosen = await pick.getAttribute('data-value')
    const count = Number(await pick.getAttribute('data-count'))
    await pick.click()
    await page.waitForURL((u) => new URL(u).searchParams.getAll('f.' + facet).includes(chosen))
    const server = (await gql(url, token, SEARCH, { q: word, f: { facets: { [facet]: [chosen] } }, n: 1 })).searchTickets.totalCount
    assert.equal(server, count, 'the facet count is what the filtered search finds')
    await page.waitForFunction((n) => document.querySelector('[data-test=search-total]')?.textContent?.includes(`共 ${n} 件`), count)
    await page.waitForSelector('[data-test=search-chips]')
    total = count
    await page.waitForTimeout(300) // the loading mask fades before the screenshot
    await page.screenshot({ path: join(shots, 'search.png') })
  })

  await step('the address is the search: a reload shows the same', async () => {
    await page.reload()
    await page.waitForFunction((n) => document.querySelector('[data-test=search-total]')?.textContent?.includes(`共 ${n} 件`), total)
    assert.equal(await page.inputValue('input[data-test=search-query]'), word)
  })

  await step('the search exports to xlsx with progress and downloads a workbook of its tickets', async () => {
    const q = new URL(page.url()).searchParams
    const facets = {}
    for (const [k, v] of q) if (k.startsWith('f.')) (facets[k.slice(2)] ??= []).push(v)
    const tickets = (await gql(url, token, SEARCH, { q: word, f: { facets }, n: 1000 })).searchTickets.edges.map((e) => e.node.number)
    await page.click('[data-test=export]')
    await page.waitForSelector('[data-test=export-columns] .el-checkbox')
    await page.click('[data-test=export-start]')
    await page.waitForSelector('[data-test=export-job] .el-progress')
    const button = page.locator('[data-test=export-download]')
    await button.waitFor()
    const [dl] = await Promise.all([page.waitForEvent('download'), button.click()])
    assert.match(dl.suggestedFilename(), /\.xlsx$/)
    const buf = readFileSync(await dl.path())
    assert.equal(buf.subarray(0, 4).toString('binary'), 'PK\x03\x04', 'an xlsx is a zip archive')
    const strings = unzip(buf, 'xl/sharedStrings.xml') ?? ''
    const sheet = unzip(buf, 'xl/worksheets/sheet1.xml') ?? ''
    for (const n of tickets) assert.ok(strings.includes(n) || sheet.includes(n), `ticket ${n} is in the workbook`)
    // The recent exports list it.
    await page.click('.el-tabs__item >> text=最近导出')
    await page.waitForSelector('[data-test=export-jobs] .el-table__row')
    await page.keyboard.press('Escape')
  })

  await step('an export of nothing says so', async () => {
    await page.goto(url + path + '?q=' + encodeURIComponent('无此词语甲乙丙丁戊'))
    await page.waitForSelector('[data-test=tickets-empty]')
    // The button is off with nothing to export; the server says why if asked.
    assert.ok(await page.isDisabled('[data-test=export]'))
    await assert.rejects(
      gql(url, token, 'mutation($q: String) { startExport(form: "' + entry.form + '", format: "xlsx", query: $q) { id } }', { q: '无此词语甲乙丙丁戊' }),
      /没有|无/,
    )
  })

  await step('a unit picked from the tree narrows to it and the units below it, as the server counts', async () => {
    await page.goto(url + path)
    await page.waitForSelector('[data-test=search-total]')
    await page.click('[data-test=search-unit]')
    await page.waitForSelector('[data-test=unit-tree] .el-tree-node__content')
    await page.click('[data-test=unit-tree] .el-tree-node__expand-icon')
    const child = page.locator('[data-test=unit-tree] .el-tree-node__children .el-tree-node__content').first()
    await child.waitFor()
    const name = (await child.textContent()).trim()
    await child.click()
    await page.waitForURL((u) => new URL(u).searchParams.has('unit'))
    const code = new URL(page.url()).searchParams.get('unit')
    const n = (await gql(url, token, SEARCH, { q: '', f: { units: [code] }, n: 1 })).searchTickets.totalCount
    await page.waitForFunction((n) => document.querySelector('[data-test=search-total]')?.textContent?.includes(`共 ${n} 件`), n)
    assert.ok((await page.textContent('[data-test=search-unit-chip]')).includes(name))
  })

  await step('a list of 1,000 tickets renders and scrolls to its last row', async () => {
    const p = await t.page('auditor', path)
    // The demo server holds few tickets: the page's own search answer is
    // repeated to 1,000 rows (distinct ids and numbers), as a big centre's
    // answer would be, so the list renders what it would there.
    await p.route('**/graphql', async (route) => {
      const body = route.request().postDataJSON()
      if (!/query SearchTickets/.test(body?.query ?? '') || body.variables?.first !== 1000) return route.continue()
      const res = await route.fetch()
      const json = await res.json()
      if (!json.data) throw new Error('search answered ' + JSON.stringify(json).slice(0, 500))
      const edges = json.data.searchTickets.edges
      const out = Array.from({ length: 1000 }, (_, i) => {
        const e = edges[i % edges.length]
        return { ...e, node: { ...e.node, id: e.node.id + '-' + i, number: 'R' + String(i + 1).padStart(4, '0') } }
      })
      json.data.searchTickets.edges = out
      json.data.searchTickets.totalCount = 1000
      json.data.searchTickets.pageInfo.hasNextPage = false
      await route.fulfill({ response: res, json })
    })
    await p.click('[data-test=search-size]')
    await p.click('.el-select-dropdown__item >> text=1000')
    await p.waitForSelector('[data-test=ticket-row] >> text=R0001')
    // Only what is in view is in the DOM.
    const inDom = await p.locator('[data-test=ticket-row]').count()
    assert.ok(inDom < 100, `virtualised: ${inDom} rows in the DOM`)
    await p.evaluate(() => {
      const root = document.querySelector('[data-test=tickets]')
      const scroller = [...root.querySelectorAll('*')].find((el) => el.scrollHeight > el.clientHeight + 10 && getComputedStyle(el).overflowY !== 'visible')
      scroller.scrollTop = scroller.scrollHeight
    })
    await p.waitForSelector('[data-test=ticket-row] >> text=R1000')
    await p.context().close()
  })
}
