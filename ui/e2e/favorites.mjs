// The favourites page (我的收藏): the agent keeps two articles, makes a
// folder on the page, moves one into it (the folder shows only its own),
// deletes the folder (its favourite goes back to the top level) and
// removes a favourite. The server generates the demo articles.
import assert from 'node:assert/strict'

export default async function favorites(t) {
  const { url, gql, login, shots, join, step, menuOf } = t
  let page, hits, entry, agent
  const folder = '收藏页端到端'
  const favs = async () => (await gql(url, agent, '{ knowledgeFolders { id name } knowledgeFavorites { folder article { id } } }'))

  await step('the agent keeps two articles and finds the favourites page in the menu', async () => {
    agent = await login(url, 'agent')
    hits = (await gql(url, agent, '{ searchKnowledge(query: "", first: 2) { hits { article { id title } } } }')).searchKnowledge.hits.map((h) => h.article)
    assert.equal(hits.length, 2, 'the demo has articles')
    // Start clean: earlier suites may have kept some.
    for (const f of (await favs()).knowledgeFavorites) await gql(url, agent, 'mutation($id: ID!) { unfavoriteKnowledge(id: $id) }', { id: f.article.id })
    for (const a of hits) await gql(url, agent, 'mutation($id: ID!) { favoriteKnowledge(id: $id) }', { id: a.id })
    const { myWorkbench } = await menuOf(agent)
    for (const w of myWorkbench) for (const e of w.menu) if (e.page === 'favorites' && !entry) entry = { bench: w.name, ...e }
    assert.ok(entry, "the agent's menu has a favourites page")
  })

  await step('the page lists them at the top level, and a folder is made on it', async () => {
    page = await t.page('agent', `/w/${entry.bench}/${entry.name}`)
    await page.waitForSelector(`[data-test=list-title] >> text=${entry.label}`)
    for (const a of hits) await page.waitForSelector(`[data-test=favorite-row] >> text=${a.title}`)
    await page.click('[data-test=folder-new]')
    await page.fill('.el-message-box input', folder)
    await page.click('.el-message-box .el-button--primary')
    await page.waitForSelector(`[data-test=folders] >> text=${folder}`)
    assert.ok((await favs()).knowledgeFolders.some((f) => f.name === folder))
  })

  await step('the agent moves a favourite into the folder', async () => {
    const row = page.locator('.el-table__row', { hasText: hits[0].title })
    await row.locator('[data-test=favorite-move]').click()
    await page.click(`.el-dropdown-menu:visible [data-test="move-to-${folder}"]`)
    await page.waitForFunction((title) => ![...document.querySelectorAll('[data-test=favorite-row]')].some((e) => e.textContent.includes(title)), hits[0].title)
    const f = await favs()
    const id = f.knowledgeFolders.find((x) => x.name === folder).id
    assert.equal(f.knowledgeFavorites.find((x) => x.article.id === hits[0].id).folder, id)
    await page.click(`[data-test=folders] >> text=${folder}`)
    await page.waitForSelector(`[data-test=favorite-row] >> text=${hits[0].title}`)
    assert.equal(await page.locator('[data-test=favorite-row]').count(), 1, 'the folder shows only its own favourite')
    await page.waitForTimeout(300)
    await page.screenshot({ path: join(shots, 'favorites.png') })
  })

  await step('deleting the folder moves its favourite back to the top; a favourite is removed', async () => {
    await page.click('[data-test=folder-delete]')
    await page.click('.el-message-box .el-button--primary')
    await page.waitForFunction((name) => !document.querySelector('[data-test=folders]').textContent.includes(name), folder)
    let f = await favs()
    assert.equal(f.knowledgeFavorites.find((x) => x.article.id === hits[0].id).folder, null)
    await page.waitForSelector(`[data-test=favorite-row] >> text=${hits[0].title}`)
    const row = page.locator('.el-table__row', { hasText: hits[1].title })
    await row.locator('[data-test=favorite-remove]').click()
    await page.waitForFunction((title) => ![...document.querySelectorAll('[data-test=favorite-row]')].some((e) => e.textContent.includes(title)), hits[1].title)
    f = await favs()
    assert.deepEqual(f.knowledgeFavorites.map((x) => x.article.id), [hits[0].id])
  })
}
