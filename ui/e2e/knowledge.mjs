// The knowledge pages: search with two characters and a facet (counts
// checked against the server), an article with a favourite in a new
// folder, a rating in the configured rating form, a correction report,
// the diff of two versions after an editor publishes a revision, and a
// new article written on the editor's registration page and sent to
// review at once.
import assert from 'node:assert/strict'
import { fill, formQuery } from './fields.mjs'

export default async function knowledge(t) {
  const { url, gql, login, shots, join, step } = t
  const token = await login(url, 'agent')
  const { myWorkbench } = await t.menuOf(token)
  const bench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'knowledge'))
  assert.ok(bench, "the agent's menu has the knowledge page")
  const entry = bench.menu.find((e) => e.page === 'knowledge')
  let p, word, article

  await step('the agent searches with two characters and narrows by a facet; counts are the server’s', async () => {
    const newest = (await gql(url, token, '{ searchKnowledge(query: "", sort: UPDATED, first: 1) { hits { article { id title keywords } } } }')).searchKnowledge.hits[0].article
    word = (newest.keywords[0] ?? newest.title).slice(0, 2)
    p = await t.page('agent', `/w/${bench.name}/${entry.name}`)
    await p.locator('input[data-test=kb-query], [data-test=kb-query] input').first().fill(word)
    const want = (await gql(url, token, 'query($q: String!) { searchKnowledge(query: $q, first: 1) { totalCount facets { field value count } } }', { q: word })).searchKnowledge
    await p.waitForSelector(`[data-test=kb-total] >> text=共 ${want.totalCount} 条`)
    await p.waitForSelector('[data-test=kb-hit]')
    await p.keyboard.press('Escape') // the suggestions
    const f = want.facets[0]
    assert.ok(f, 'the hits have a facet')
    await p.click(`[data-test="kb-facet-${f.field}-${f.value}"]`)
    const narrowed = (await gql(url, token, 'query($q: String!, $f: KnowledgeFilter) { searchKnowledge(query: $q, filter: $f, first: 1) { totalCount } }', { q: word, f: { facets: { [f.field]: [f.value] } } })).searchKnowledge.totalCount
    await p.waitForSelector(`[data-test=kb-total] >> text=共 ${narrowed} 条`)
    await p.waitForTimeout(300)
    await p.screenshot({ path: join(shots, 'knowledge.png') })
  })

  await step('the agent opens an article and favourites it into a new folder', async () => {
    await p.locator('[data-test=kb-hit] .title').first().click()
    await p.waitForURL(/\/k\/\d+$/)
    const id = p.url().split('/k/')[1]
    article = (await gql(url, token, 'query($id: ID!) { knowledgeArticle(id: $id, click: false) { id title version } }', { id })).knowledgeArticle
    await p.waitForSelector(`[data-test=article-title] >> text=${article.title}`)
    await gql(url, token, 'mutation { createKnowledgeFolder(name: "端到端收藏夹") { id } }')
    await p.reload()
    await p.click('[data-test=article-favorite]')
    await p.click('[data-test="favorite-to-端到端收藏夹"]')
    await p.waitForSelector('[data-test=article-unfavorite]')
    const favs = (await gql(url, token, '{ knowledgeFolders { id name } knowledgeFavorites { folder article { id } } }'))
    const folder = favs.knowledgeFolders.find((f) => f.name === '端到端收藏夹')
    assert.ok(favs.knowledgeFavorites.some((f) => f.article.id === article.id && f.folder === folder.id), 'kept in the folder')
  })

  await step('the agent rates the article in the configured rating form', async () => {
    await p.click('.el-tabs__item >> text=评价')
    await p.waitForSelector('[data-test=article-rate]')
    const form = (await gql(url, token, '{ knowledgeBase { ratingForm } }')).knowledgeBase.ratingForm
    const fields = (await gql(url, token, 'query($n: String!) { form(name: $n) { fields { name type required max } } }', { n: form })).form.fields
    for (const f of fields.filter((f) => f.type === 'number' && f.required)) {
      await p.fill(`[data-test=article-rate] [data-test=field-${f.name}] input`, String(f.max ?? 5))
    }
    await p.click('[data-test=article-rate-submit]')
    await p.waitForSelector('[data-test=article-ratings] .el-table__row')
    const after = (await gql(url, token, 'query($id: ID!) { knowledgeArticle(id: $id, click: false) { ratings } }', { id: article.id })).knowledgeArticle
    assert.equal(after.ratings, 1)
  })

  await step('the agent reports a correction; the knowledge team gets it as a ticket', async () => {
    const base = (await gql(url, token, '{ knowledgeBase { correction { flow form article } } }')).knowledgeBase.correction
    assert.ok(base, 'corrections are configured')
    await p.click('[data-test=article-correct]')
    const dialog = p.locator('[data-test=correction-dialog]')
    const fields = (await gql(url, token, 'query($n: String!) { form(name: $n) { fields { name type required } } }', { n: base.form })).form.fields
    for (const f of fields.filter((f) => f.required && f.name !== base.article)) {
      await dialog.locator(`[data-test=field-${f.name}] textarea, [data-test=field-${f.name}] input`).first().fill('端到端：正文中的电话号码已过期')
    }
    await dialog.locator('[data-test=correction-submit]').click()
    await p.waitForSelector('.el-message--success >> text=已提交')
    const reviewer = await login(url, 'kb-reviewer').catch(() => null)
    if (reviewer) {
      const work = (await gql(url, reviewer, 'query($f: String) { myWorkTickets(flow: $f, first: 5) { edges { node { fields } } } }', { f: base.flow })).myWorkTickets.edges
      assert.ok(work.some((e) => String(e.node.fields[base.article]) === article.id), 'the reviewer has the correction of this article')
    }
  })

  await step('after an editor publishes a revision the article shows two versions and their diff', async () => {
    const editor = await login(url, 'kbeditor')
    const reviewer = await login(url, 'kbreviewer')
    // The revision goes through the default article flow (flows/kb_article.yaml):
    // revise, save the changed text, submit, approve.
    const act = (tok, action, input) =>
      gql(url, tok, 'mutation($id: ID!, $a: String!, $in: JSON) { performAction(ticketId: $id, action: $a, input: $in) { state fields } }', { id: article.id, a: action, in: input })
    const revising = (await act(editor, 'revise')).performAction
    const [name, text] = Object.entries(revising.fields).find(([, v]) => typeof v === 'string' && v.length > 20)
    await act(editor, 'save', { ...revising.fields, [name]: text + '（端到端修订）' })
    await act(editor, 'submit')
    await act(reviewer, 'approve', {})
    await p.reload()
    await p.click('.el-tabs__item >> text=版本')
    await p.waitForSelector('[data-test=article-versions] .el-table__row >> nth=1')
    await p.click('[data-test=article-diff]')
    const diff = await p.textContent('[data-test=diff]')
    assert.ok(diff.includes('端到端修订'), 'the diff shows the revision')
    await p.screenshot({ path: join(shots, 'article.png') })
  })

  await step("the agent cites an article from the registration page's knowledge panel into the form", async () => {
    const menus = (await gql(url, token, '{ myWorkbench { name menu { name page cite } } }')).myWorkbench
    const w = menus.find((x) => x.menu.some((e) => e.page === 'register' && e.cite))
    assert.ok(w, 'a register entry has the knowledge panel')
    const e = w.menu.find((x) => x.page === 'register' && x.cite)
    const r = await t.page('agent', `/w/${w.name}/${e.name}`)
    const panel = r.locator('[data-test=kb-side]')
    await panel.locator('input[data-test=kb-query], [data-test=kb-query] input').first().fill(word)
    await panel.locator('[data-test=kb-hit] .title').first().click()
    await panel.locator('[data-test=kb-cite]').click()
    const cited = await r.inputValue(`[data-test=field-${e.cite}] input`)
    assert.match(cited, /^\d+$/, 'the cited article number is in the field')
    await r.screenshot({ path: join(shots, 'register-knowledge.png') })
  })

  await step("an editor writes a new article on the registration page and sends it to review at once", async () => {
    const editor = await login(url, 'kbeditor')
    const menus = (await gql(url, editor, '{ myWorkbench { name menu { name label page form actions { name label draft required } } } }')).myWorkbench
    // The editor may also hold a role that registers tickets: the page
    // wanted registers with a form naming no caller.
    let w, e, form
    for (const x of menus) {
      for (const m of x.menu.filter((m) => m.page === 'register')) {
        const f = (await gql(url, editor, formQuery, { n: m.form })).form
        if (!e && !f.fields.some((fl) => fl.caller)) [w, e, form] = [x, m, f]
      }
    }
    assert.ok(e, "the editor's menu has a registration page for articles")
    const submit = e.actions.find((a) => !a.draft)
    assert.ok(submit && e.actions.some((a) => a.draft), 'it offers a draft and an action that submits')
    const r = await t.page('kbeditor', `/w/${w.name}/${e.name}`)
    await r.waitForSelector('[data-test=register]')
    const required = new Set([...submit.required, ...form.fields.filter((f) => f.required).map((f) => f.name)])
    for (const f of form.fields) {
      if (!required.has(f.name) || f.computed || (await r.locator(`[data-test="field-${f.name}"]`).count()) === 0) continue
      await fill(r, f, `e2e 新知识 ${f.label}：携带身份证到窗口办理`)
    }
    // An article registers no caller: no caller's or similar tickets.
    assert.equal(await r.locator('[data-test=similar]').count(), 0)
    await r.screenshot({ path: join(shots, 'kb-new.png') })
    await r.click(`[data-test=action-${submit.name}]`)
    await r.waitForURL(/\/t\/\d+$/)
    const id = r.url().split('/').pop()
    const created = (await gql(url, editor, 'query($id: ID!) { ticket(id: $id) { stateLabel events { action } } }', { id })).ticket
    assert.deepEqual(created.events.map((x) => x.action), [submit.name])
    await r.waitForSelector(`[data-test=ticket-state] >> text=${created.stateLabel}`)
  })
}
