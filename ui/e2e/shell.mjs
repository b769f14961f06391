// The shell: login, menus from myWorkbench, to-do lists, the notice bell,
// session expiry and the forced password change.
import assert from 'node:assert/strict'

export default async function shell(t) {
  const { url, gql, login, shots, join, wait, step, newPage, signIn, menuOf, unread } = t
  let page
  await step('a page asked for without a session shows the login page in Chinese', async () => {
    page = t.track(await newPage())
    await page.goto(url + '/')
    await page.waitForURL(/\/login\?redirect=/)
    await page.waitForSelector('text=请登录')
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN')
    await page.screenshot({ path: join(shots, 'login.png') })
  })

  await step('a wrong password shows the server message', async () => {
    await signIn(page, 'agent', 'not-the-password')
    const msg = await page.textContent('[data-test=login-error]')
    assert.match(msg, /用户名或密码错误/)
  })

  await step('the agent signs in and sees the menus of their workbench, name and unit', async () => {
    const token = await login(url, 'agent')
    const { myWorkbench, me } = await menuOf(token)
    assert.ok(myWorkbench.length > 0, 'the agent has a workbench')
    await signIn(page, 'agent')
    await page.waitForSelector('[data-test=menu]')
    for (const w of myWorkbench) {
      await page.waitForSelector(`[data-test=menu] >> text=${w.label}`)
      for (const e of w.menu) await page.waitForSelector(`[data-test=menu-${w.name}-${e.name}]`)
    }
    const user = await page.textContent('[data-test=user]')
    assert.ok(user.includes(me.displayName) && user.includes(me.unit.name), user)
    // Home opens the first entry.
    const first = myWorkbench[0].menu[0]
    await page.waitForURL(new RegExp(`/w/${myWorkbench[0].name}/${first.name}$`))
    await page.waitForSelector(`[data-test=list-title] >> text=${first.label}`)
    await page.waitForSelector('[data-test=tickets] [data-test=ticket-row], [data-test=tickets] [data-test=tickets-empty]')
    await page.waitForTimeout(300) // let the loading mask fade for the screenshot
    await page.screenshot({ path: join(shots, 'shell.png') })
  })

  await step('the agent opens each ticket list of the menu', async () => {
    const { myWorkbench } = await menuOf(await login(url, 'agent'))
    for (const e of myWorkbench[0].menu.filter((e) => e.page === 'tickets')) {
      await page.click(`[data-test=menu-${myWorkbench[0].name}-${e.name}]`)
      await page.waitForSelector(`[data-test=list-title] >> text=${e.label}`)
      await page.waitForSelector('[data-test=tickets] [data-test=ticket-row], [data-test=tickets] [data-test=tickets-empty]')
    }
  })

  let clerk
  await step("the clerk's to-do list shows tickets with state labels and deadlines", async () => {
    clerk = t.track(await newPage())
    await clerk.goto(url + '/login')
    await signIn(clerk, 'clerk')
    await clerk.waitForSelector('[data-test=menu]')
    const token = await login(url, 'clerk')
    const { myWorkbench } = await menuOf(token)
    const w = myWorkbench[0]
    // The list of the state the demo data fills for the clerk: the first
    // state entry with tickets in myWork.
    const work = (await gql(url, token, '{ myWork { states { flow state count } } }')).myWork.states
    const e = w.menu.find((e) => e.state && work.some((s) => s.flow === e.flow && s.state === e.state && s.count > 0))
    assert.ok(e, 'the demo data leaves the clerk a to-do in one of the menu states')
    await clerk.click(`[data-test=menu-${w.name}-${e.name}]`)
    await clerk.waitForSelector('[data-test=tickets] [data-test=ticket-row]')
    const tickets = (await gql(url, token, 'query($f: String, $s: String) { myWorkTickets(flow: $f, state: $s, first: 20) { edges { node { number stateLabel } } } }', { f: e.flow, s: e.state })).myWorkTickets.edges
    const table = await clerk.textContent('[data-test=tickets]')
    assert.ok(table.includes(tickets[0].node.number) && table.includes(tickets[0].node.stateLabel), 'first row shown with its state label')
    // The screenshot shows the widest list: the one without a filter.
    const all = w.menu.find((x) => x.page === 'tickets' && !x.flow && !x.state && !x.due)
    if (all) {
      await clerk.click(`[data-test=menu-${w.name}-${all.name}]`)
      await clerk.waitForSelector(`[data-test=list-title] >> text=${all.label}`)
      await clerk.waitForSelector('[data-test=tickets] [data-test=ticket-row]')
    }
    await clerk.waitForTimeout(300)
    await clerk.screenshot({ path: join(shots, 'list.png') })
  })

  await step("a dispatched ticket's notice reaches the clerk's bell live", async () => {
    const before = await unread(clerk)
    assert.ok(Number.isFinite(before))
    const agent = await login(url, 'agent')
    const dispatcher = await login(url, 'dispatcher')
    const clerkUnit = (await menuOf(await login(url, 'clerk'))).me.unit
    // The default flow's registration and dispatch (flows/ticket.yaml,
    // README "A day in the default flow").
    const created = await gql(url, agent, `mutation($input: JSON!) { createTicket(form: "ticket-register", action: "register", input: $input) { id } }`, {
      input: { caller_phone: '13800000001', title: '端到端测试：小区供暖不热', content: '家中暖气温度偏低已经三天，请尽快处理。', type: '投诉',
        address: { district: '150105', street: '150105001', community: '150105001001', detail: '测试小区 1 号楼' } },
    })
    const code = (await gql(url, agent, `query($id: ID!) { unit(id: $id) { code } }`, { id: clerkUnit.id })).unit.code
    await gql(url, dispatcher, `mutation($id: ID!, $input: JSON) { performAction(ticketId: $id, action: "dispatch", input: $input) { state } }`, {
      id: created.createTicket.id, input: { unit: code, opinion: '请赛罕区处理' },
    })
    await clerk.waitForFunction((n) => Number(document.querySelector('[data-test=unread]')?.textContent) === n, before + 1, { timeout: wait })
    await clerk.click('[data-test=bell]')
    await clerk.waitForSelector('[data-test=notice]')
    await clerk.waitForTimeout(300)
    await clerk.screenshot({ path: join(shots, 'notices.png') })
    await clerk.keyboard.press('Escape')
  })

  await step('an expired session returns to the same page after signing in again', async () => {
    const token = await clerk.evaluate(() => localStorage.getItem('hotline.token'))
    await gql(url, token, 'mutation { logout }')
    const { myWorkbench } = await menuOf(await login(url, 'clerk'))
    const target = myWorkbench[0].menu.find((e) => e.page === 'tickets' && e.name !== myWorkbench[0].menu[0].name) ?? myWorkbench[0].menu[0]
    const path = `/w/${myWorkbench[0].name}/${target.name}`
    await clerk.goto(url + path)
    await clerk.waitForURL(/\/login\?redirect=/)
    await clerk.waitForSelector('text=登录已失效')
    await signIn(clerk, 'clerk')
    await clerk.waitForURL(url + path)
    await clerk.waitForSelector(`[data-test=list-title] >> text=${target.label}`)
  })

  await step('a user with a temporary password must change it first', async () => {
    const admin = await login(url, 'admin')
    const { me } = await menuOf(await login(url, 'clerk'))
    const made = await gql(url, admin, 'mutation($in: UserInput!) { createUser(input: $in) { temporaryPassword } }', {
      in: { username: 'e2e.newclerk', displayName: '新承办人', unitId: me.unit.id, roles: ['clerk'] },
    })
    const temp = made.createUser.temporaryPassword
    const p = t.track(await newPage())
    await p.goto(url + '/login')
    await signIn(p, 'e2e.newclerk', temp)
    await p.waitForURL(/\/password/)
    await p.waitForSelector('[data-test=must-change]')
    await p.fill('input[name=oldPassword]', temp)
    await p.fill('input[name=newPassword]', 'Xk9#mq2!Lp')
    await p.fill('input[name=confirm]', 'Xk9#mq2!Lp')
    await p.click('[data-test=password-submit]')
    await p.waitForSelector('[data-test=menu]')
  })
}
