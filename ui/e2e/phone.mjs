// The agent's soft-phone bar and screen pop, and the team leader's
// wallboard, with real SIP peers: sipp registers as the demo agent's desk
// phone and answers, a second sipp calls the hotline through the menu;
// a colleague's and the leader's phones join for the transfer and the
// monitoring.
// States, labels and menu entries are read from the server as the same
// users; only the kernel's state categories are named here.
import assert from 'node:assert/strict'
import { agentPhone, sipp } from './sip.mjs'

export default async function phone(t) {
  const { url, gql, login, shots, join, wait, step, server, password, menuOf } = t
  assert.ok(server.sip, 'the server takes calls')
  const agentToken = await login(url, 'agent')
  const leaderToken = await login(url, 'leader')
  const { agentStates: states } = await gql(url, agentToken, '{ agentStates { name label category manual reasons } }')
  const me = async () => (await gql(url, agentToken, '{ myAgent { userId username extension state stateLabel reason task } }')).myAgent
  const category = (name) => states.find((s) => s.name === name)?.category
  const stateText = (p, sel) => p.textContent(sel).then((s) => s.trim())
  // waitText waits until the element's text holds want.
  const waitText = (p, sel, want, timeout = wait) =>
    p.waitForFunction(([s, w]) => document.querySelector(s)?.textContent?.includes(w), [sel, want], { timeout })
  const caller = '13800138000'
  const peers = []
  let agent, leader, call

  try {
    await step('the phone bar shows an agent his state; a user who is no agent gets none', async () => {
      const a = await me()
      agent = t.track(await t.page('agent'))
      await agent.waitForSelector('[data-test=phone-bar]')
      assert.equal(await stateText(agent, '[data-test=phone-state]'), a.stateLabel)
      const clerk = t.track(await t.page('clerk'))
      await clerk.waitForLoadState('networkidle')
      assert.equal(await clerk.locator('[data-test=phone-bar]').count(), 0)
      await clerk.context().close()
    })

    await step("the leader's wallboard lists every agent with his state", async () => {
      const { myWorkbench } = await menuOf(leaderToken)
      const bench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'wallboard'))
      assert.ok(bench, "the leader's menu has the wallboard")
      const entry = bench.menu.find((e) => e.page === 'wallboard')
      leader = t.track(await t.page('leader', `/w/${bench.name}/${entry.name}`))
      await leader.waitForSelector(`[data-test=wallboard] >> text=${entry.label}`)
      const { agents } = await gql(url, leaderToken, '{ agents { username stateLabel } }')
      for (const a of agents) await waitText(leader, `[data-test="wb-state-${a.username}"]`, a.stateLabel)
    })

    await step('the desk phone registers, the agent signs in and goes idle in the browser, and the wallboard follows live', async () => {
      const a = await me()
      peers.push(await agentPhone(server.sip, a.extension, password))
      agent = t.track(agent)
      await agent.click('[data-test=phone-signin]')
      await agent.waitForSelector('[data-test=phone-timer]')
      let now = await me()
      if (category(now.state) !== 'idle') {
        const idle = states.find((s) => s.manual && s.category === 'idle')
        await agent.click('[data-test=phone-states]')
        await agent.click(`[data-test=phone-choice-${idle.name}]`)
        await agent.waitForFunction((label) => document.querySelector('[data-test=phone-state]')?.textContent?.includes(label), idle.label)
        now = await me()
      }
      assert.equal(category(now.state), 'idle')
      await waitText(agent, '[data-test=phone-state]', now.stateLabel)
      await waitText(leader, '[data-test=wb-state-agent]', now.stateLabel)
      // The timer runs.
      const t0 = await stateText(agent, '[data-test=phone-timer]')
      await agent.waitForFunction((t0) => document.querySelector('[data-test=phone-timer]')?.textContent?.trim() !== t0, t0, { timeout: 3000 })
    })

    let open
    await step("a call from sipp pops on the agent's screen with the number, the menu path and the caller's open ticket", async () => {
      open = (
        await gql(url, agentToken, `mutation($input: JSON!) { createTicket(form: "ticket-register", action: "register", input: $input) { id number } }`, {
          input: { caller_phone: caller, title: '端到端测试：路灯不亮', content: '小区门口路灯连续一周不亮。', type: '投诉',
            address: { district: '150105', street: '150105001', community: '150105001001', detail: '测试小区 2 号楼' } },
        })
      ).createTicket
      call = await sipp(server.sip, 'ivr_until_bye.xml', '12345')
      peers.push(call)
      agent = t.track(agent)
      // The menu's prompts take some 20 s before the call queues.
      await agent.waitForSelector('[data-test=screen-pop]', { timeout: 90_000 })
      assert.equal(await stateText(agent, '[data-test=pop-caller]'), caller)
      await agent.waitForSelector(`[data-test=pop-ticket] >> text=${open.number}`)
      assert.equal(await agent.getAttribute(`[data-test=pop-ticket] a >> text=${open.number}`, 'href'), `/t/${open.id}`)
      // The menu path as the menu labels its nodes, the call record's.
      const rec = (await gql(url, leaderToken, 'query($c: String) { calls(caller: $c, first: 1) { edges { node { ivrPath ivrPathLabels } } } }', { c: caller })).calls.edges[0].node
      assert.ok(rec.ivrPathLabels.length > 0 && rec.ivrPathLabels.join() !== rec.ivrPath.join(), 'the path has labels of its own')
      assert.equal(await stateText(agent, '[data-test=pop-path]'), rec.ivrPathLabels.join(' → '), 'the menu path')
      // The menu's choices are labelled as the registration form labels
      // the fields they fill (the shipped menu sets type: 诉求类型).
      const reg = (await menuOf(agentToken)).myWorkbench.flatMap((w) => w.menu).find((e) => e.page === 'register')
      const { fields } = (await gql(url, agentToken, 'query($n: String!) { form(name: $n) { fields { name label } } }', { n: reg.form })).form
      const shown = await agent.$$eval('[data-test=screen-pop] .el-descriptions__label', (els) => els.map((e) => e.textContent.trim()))
      assert.ok(shown.some((l) => fields.some((f) => f.label === l)), 'a call var shown under its form label: ' + shown.join(', '))
      assert.ok(!shown.some((l) => fields.some((f) => f.name === l && f.label !== l)), 'no call var shown by its bare name: ' + shown.join(', '))
      // The phone answers: the pop says so, and so does the bar.
      const talking = states.find((s) => s.category === 'talking')
      await agent.waitForFunction((name) => document.querySelector('[data-test=screen-pop]')?.getAttribute('data-state') === name, talking.name, { timeout: wait })
      await waitText(agent, '[data-test=phone-state]', talking.label)
      await agent.waitForTimeout(400) // the drawer's slide-in
      await agent.screenshot({ path: join(shots, 'phone.png') })
    })

    await step('the wallboard shows the agent on the call with the caller', async () => {
      const talking = states.find((s) => s.category === 'talking')
      await waitText(leader, '[data-test=wb-state-agent]', talking.label)
      await waitText(leader, '[data-test=wb-call-agent]', caller)
      // The day's figures count the answer (read again within seconds).
      await leader.waitForFunction(() => /^\s*1\s*\//.test(document.querySelector('[data-test=wb-answered] .v')?.textContent ?? ''), null, { timeout: wait })
      await leader.waitForTimeout(300)
      await leader.screenshot({ path: join(shots, 'wallboard.png') })
    })

    await step("the pop's register button opens the registration page with the caller's number", async () => {
      const { myWorkbench } = await menuOf(agentToken)
      const bench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'register'))
      assert.ok(bench, "the agent's menu has the registration page")
      const entry = bench.menu.find((e) => e.page === 'register')
      const a = await me()
      await agent.click('[data-test=pop-register]')
      await agent.waitForURL((u) => u.pathname === `/w/${bench.name}/${entry.name}` && u.searchParams.get('caller') === caller && u.searchParams.get('call') === a.task)
      await agent.waitForFunction((n) => [...document.querySelectorAll('input')].some((i) => i.value === n), caller, { timeout: wait })
    })

    await step("the agent transfers the call from the bar to a colleague's extension; the wallboard follows", async () => {
      // The colleague's desk phone registers and he signs in while the
      // agent talks, so the call was the agent's and now goes to him.
      const colleague = 'agent2'
      const token = await login(url, colleague)
      const { myAgent } = await gql(url, token, '{ myAgent { extension } }')
      peers.push(await agentPhone(server.sip, myAgent.extension, password))
      await gql(url, token, 'mutation { agentSignIn { state } }')
      t.track(agent)
      await agent.click('[data-test=phone-transfer]')
      await agent.click('.el-dialog >> text=座席分机')
      // Element Plus puts the attribute on the input itself.
      await agent.fill('input[data-test=transfer-target], [data-test=transfer-target] input', myAgent.extension)
      await agent.click('[data-test=transfer-go]')
      await waitText(leader, `[data-test="wb-call-${colleague}"]`, caller)
      const talking = states.find((s) => s.category === 'talking')
      await waitText(leader, `[data-test="wb-state-${colleague}"]`, talking.label)
      await agent.waitForFunction((label) => !document.querySelector('[data-test=phone-state]')?.textContent?.includes(label), talking.label)
      await agent.waitForSelector('[data-test=phone-transfer]', { state: 'detached' })
    })

    await step("the leader listens to the colleague's call from the wallboard, then barges in", async () => {
      // The leader's own desk phone rings and joins (monitorCall).
      const { agents } = await gql(url, leaderToken, '{ agents { username extension } }')
      const ext = agents.find((a) => a.username === 'leader').extension
      const leaderPhone = await agentPhone(server.sip, ext, password)
      peers.push(leaderPhone)
      // The call's events, a monitor event with its mode (monitor:listen).
      const kinds = async () =>
        (await gql(url, leaderToken, '{ calls(live: true) { edges { node { caller events { kind data } } } } }')).calls.edges
          .find((e) => e.node.caller === caller)?.node.events.map((e) => e.kind + (e.data?.mode ? ':' + e.data.mode : '')) ?? []
      const until = async (kind) => {
        for (let i = 0; i < 100 && !(await kinds()).includes(kind); i++) await new Promise((r) => setTimeout(r, 100))
        const said = await leader.locator('.el-message').allTextContents()
        assert.ok((await kinds()).includes(kind), `the call's events have ${kind}: ${(await kinds()).join(', ')}; the wallboard said ${said.join(' / ')}`)
      }
      t.track(leader)
      await leader.click('[data-test=wb-listen-agent2]')
      await until('monitor:listen')
      await leader.click('[data-test=wb-barge-agent2]')
      await until('monitor:barge')
    })

    await step('the leader releases the call from the wallboard; every phone hangs up', async () => {
      await leader.click('[data-test=wb-release-agent2]')
      await Promise.all(peers.map((p) => p.done))
      const talking = states.find((s) => s.category === 'talking')
      await leader.waitForFunction((label) => !document.querySelector('[data-test=wb-state-agent2]')?.textContent?.includes(label), talking.label)
    })

    await step("the leader forces the agent busy from the wallboard and the agent's bar shows it", async () => {
      const busy = states.find((s) => s.manual && s.category === 'busy')
      await leader.click('[data-test=wb-force-agent]')
      await leader.click(`[data-test=wb-force-agent-${busy.name}]`)
      await waitText(agent, '[data-test=phone-state]', busy.label)
      await waitText(leader, '[data-test=wb-state-agent]', busy.label)
      assert.equal((await me()).state, busy.name)
      // The day's figures count the call once it ended.
      await leader.waitForFunction(() => document.querySelector('[data-test=wb-service-level]')?.textContent?.includes('%'), null, { timeout: wait })
    })

    await step('the agent signs out from the bar', async () => {
      await agent.click('[data-test=phone-signout]')
      await agent.waitForSelector('[data-test=phone-signin]')
      assert.equal(category((await me()).state), 'signed_out')
    })
  } finally {
    for (const p of peers) p.stop()
    // Leave the colleague as the suites after this one expect him.
    await gql(url, await login(url, 'agent2'), 'mutation { agentSignOut { state } }').catch(() => {})
  }
}
