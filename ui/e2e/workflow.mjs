// A ticket's day in the default flow, in the browser: the dispatcher opens
// it from the to-do list and dispatches it to 赛罕区 with the responsibility
// list's suggestion; the 赛罕区 clerk signs for it and replies with an
// attachment; the auditor passes the reply, the callback user records a
// satisfied citizen and the auditor closes it. A second call about the
// same matter is merged into the first. Then the clerk applies to
// return a second ticket and the centre refuses the return; after two
// refusals the flow's guard greys the return out, with its reason.
//
// The ticket is registered through GraphQL as the agent (the forms and
// phone suites cover registration). Action names follow the README's "A
// day in the default flow"; each is checked against the user's
// availableActions, and every label the test looks for (actions, states,
// menu entries) is read from the server as the same user.
import assert from 'node:assert/strict'

// A 1×1 PNG: the attachment store judges a file by its bytes.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

export default async function workflow(t) {
  const { url, gql, login, shots, join, step, menuOf } = t
  const tokens = {}
  const token = async (u) => (tokens[u] ??= await login(url, u))
  const read = async (u, id) =>
    (await gql(url, await token(u), 'query($id: ID!) { ticket(id: $id) { id number state stateLabel version availableActions(refused: true) { name label form refusal } } }', { id })).ticket
  const perform = async (u, id, action, input = {}) =>
    (await gql(url, await token(u), 'mutation($id: ID!, $a: String!, $i: JSON) { performAction(ticketId: $id, action: $a, input: $i) { state } }', { id, a: action, i: input })).performAction

  // offered asserts that the user may take the action now and returns it
  // as availableActions words it.
  async function offered(u, id, name) {
    const a = (await read(u, id)).availableActions.find((x) => x.name === name)
    assert.ok(a, `${u} is offered ${name}`)
    assert.equal(a.refusal, null, `${name} is not refused`)
    return a
  }

  // fromList signs in as u, opens the menu entry that lists the ticket's
  // state and opens the ticket from that list.
  async function fromList(u, ticket) {
    const { myWorkbench } = await menuOf(await token(u))
    let bench, entry
    for (const w of myWorkbench) {
      entry = w.menu.find((e) => e.page === 'tickets' && e.state === ticket.state)
      if (entry) {
        bench = w
        break
      }
    }
    assert.ok(entry, `${u}'s menu lists tickets in ${ticket.state}`)
    const p = t.track(await t.page(u, `/w/${bench.name}/${entry.name}`))
    await p.waitForSelector(`[data-test=list-title] >> text=${entry.label}`)
    if (entry.group) {
      // A grouped entry sits in its group's folded sub-menu, opened
      // because the page shown is one of its lists.
      await p.waitForSelector(`[data-test=menu-group-${bench.name}] >> text=${entry.group}`)
      assert.ok(await p.isVisible(`[data-test=menu-${bench.name}-${entry.name}]`), `${entry.label} is shown under ${entry.group}`)
      await p.screenshot({ path: join(shots, 'menu-group.png') })
    }
    await p.click(`[data-test=ticket-row] >> text=${ticket.number}`)
    await p.waitForURL(new RegExp(`/t/${ticket.id}$`))
    await p.waitForSelector(`[data-test=ticket-head-number] >> text=${ticket.number}`)
    return p
  }

  // act takes an action on the ticket page: with a form, fill() enters it
  // in the dialog; without, the confirmation is accepted. It waits until
  // the page shows the state the server reports.
  async function act(p, u, id, name, fill) {
    const a = await offered(u, id, name)
    await p.click(`button[data-test="action-${name}"]`)
    if (a.form) {
      await p.waitForSelector(`.el-dialog >> text=${a.label}`)
      await p.waitForSelector('.el-dialog .form-renderer')
      await fill?.(p)
      await p.click('[data-test=action-submit]')
      await p.waitForSelector('.el-dialog .form-renderer', { state: 'detached' })
    } else {
      await p.click('.el-message-box .el-button--primary')
    }
    const after = await read(u, id).catch(() => null)
    if (after) await p.waitForSelector(`[data-test=ticket-state] >> text=${after.stateLabel}`)
    else await p.waitForSelector('[data-test=ticket-gone]')
    return after
  }

  async function register(title, content) {
    const input = {
      caller_phone: '13904711234',
      caller: '王女士',
      title,
      content,
      type: '投诉',
      address: { district: '150105', street: '150105001', community: '150105001001', detail: '大学东街 88 号院' },
    }
    const created = (
      await gql(url, await token('agent'), 'mutation($input: JSON!) { createTicket(form: "ticket-register", action: "register", input: $input) { id } }', { input })
    ).createTicket
    return read('agent', created.id)
  }

  let ticket
  let saihan
  await step('the dispatcher opens the new ticket from the to-do list and dispatches it to 赛罕区 with the suggestion', async () => {
    ticket = await register('大学东街 88 号院楼道垃圾堆放无人清理', '市民来电反映大学东街 88 号院楼道内垃圾堆放一周无人清理，气味很大，希望尽快清运。')
    const suggestions = (await gql(url, await token('dispatcher'), 'query($id: ID) { suggestUnits(ticket: $id) { unitCode unitName } }', { id: ticket.id })).suggestUnits
    saihan = suggestions.find((s) => s.unitName === '赛罕区')
    assert.ok(saihan, 'the responsibility list suggests 赛罕区: ' + JSON.stringify(suggestions))
    const p = await fromList('dispatcher', ticket)
    await act(p, 'dispatcher', ticket.id, 'dispatch', async () => {
      await p.click(`[data-test="suggest-${saihan.unitCode}"]`)
      await p.waitForSelector(`[data-test=field-unit] .el-select >> text=${saihan.unitName}`)
      await p.fill('[data-test=field-opinion] textarea', '请赛罕区组织清运，并回复处理结果。')
      await p.waitForTimeout(500) // the server's check answers; then the dialog looks settled
      await p.screenshot({ path: join(shots, 'action.png') })
    })
    ticket = await read('dispatcher', ticket.id)
    const holder = (await gql(url, await token('dispatcher'), 'query($id: ID!) { ticket(id: $id) { holder { unitCode } } }', { id: ticket.id })).ticket.holder
    assert.equal(holder.unitCode, saihan.unitCode)
    await p.context().close()
  })

  await step('the dispatcher merges a second call about it into the first; each ticket shows the other as linked', async () => {
    const dup = await register('88 号院楼道垃圾又堆了', '同一小区居民再次来电反映大学东街 88 号院楼道垃圾堆放无人清理。')
    const p = await fromList('dispatcher', dup)
    await act(p, 'dispatcher', dup.id, 'merge', async () => {
      await p.fill('[data-test=field-master] input', ticket.number)
    })
    const link = p.locator('[data-test=ticket-links] [data-test=ticket-link-merge]')
    await link.locator(`text=${ticket.number}`).waitFor()
    await link.locator(`a >> text=${ticket.number}`).click()
    await p.waitForURL(new RegExp(`/t/${ticket.id}$`))
    await p.locator(`[data-test=ticket-links] [data-test=ticket-link-merge] >> text=${dup.number}`).waitFor()
    // The dispatch step's unit field reads as the unit's name (unitNames), not its code.
    await p.waitForSelector(`[data-test=timeline] >> text=${saihan.unitName}`)
    assert.ok(!(await p.textContent('[data-test=timeline]')).includes(saihan.unitCode), 'no unit code in the timeline')
    await p.waitForTimeout(400) // the tags' fade-in
    await p.screenshot({ path: join(shots, 'links.png') })
    await p.context().close()
  })

  await step('the 赛罕区 clerk signs for it from the to-do list and replies with an attachment', async () => {
    const p = await fromList('clerk', ticket)
    await p.waitForSelector(`[data-test=ticket-holder] >> text=${saihan.unitName}`)
    await act(p, 'clerk', ticket.id, 'sign')
    // Sign-for had a step limit: the timeline says whether it was met.
    await p.waitForSelector('[data-test=timeline] [data-test=event-ontime]')
    await act(p, 'clerk', ticket.id, 'reply', async () => {
      await p.fill('[data-test=field-result] textarea', '已联系物业于当日清运楼道垃圾，并安排每日巡查保洁。')
      await p.setInputFiles('[data-test=field-attachments] input[type=file]', { name: '清运后现场.png', mimeType: 'image/png', buffer: png })
      await p.waitForSelector('[data-test=field-attachments] [data-test=attachment]')
    })
    await p.context().close()
  })

  await step('the auditor passes the reply, the callback user records a satisfied citizen, the auditor closes it', async () => {
    ticket = await read('auditor', ticket.id)
    let p = await fromList('auditor', ticket)
    // The reply's attachment is on the page, by its name, with a preview.
    await p.waitForSelector('[data-test=attachments] >> text=清运后现场.png')
    await act(p, 'auditor', ticket.id, 'final_pass', async () => {})
    await p.context().close()

    ticket = await read('callback', ticket.id)
    p = await fromList('callback', ticket)
    await act(p, 'callback', ticket.id, 'callback_satisfied', async () => {
      await p.click('[data-test=field-satisfaction] .el-radio >> text="满意"')
      await p.fill('[data-test=field-opinion] textarea', '市民表示垃圾已清运，满意。')
    })
    await p.context().close()

    ticket = await read('auditor', ticket.id)
    p = await fromList('auditor', ticket)
    const closed = await act(p, 'auditor', ticket.id, 'result_pass', async () => {})
    assert.ok(closed, 'the auditor still sees the ticket')
    // The whole day is in the timeline, newest first, each by its label.
    const events = (await gql(url, await token('auditor'), 'query($id: ID!) { ticket(id: $id) { events { actionLabel } } }', { id: ticket.id })).ticket.events
    const shown = await p.$$eval('[data-test=timeline] [data-test=event-action]', (els) => els.map((e) => e.textContent.trim()))
    assert.deepEqual(shown, events.map((e) => e.actionLabel).reverse())
    await p.click('[data-test=attachments] [data-test=preview]')
    await p.waitForSelector('[data-test=preview-image]')
    await p.keyboard.press('Escape')
    await p.waitForSelector('[data-test=preview-image]', { state: 'detached' })
    await p.locator('[data-test=ticket-head-number]').scrollIntoViewIfNeeded()
    await p.waitForTimeout(300)
    await p.screenshot({ path: join(shots, 'ticket.png') })
    await p.context().close()
  })

  await step('the clerk applies to return a ticket; the centre refuses the return; a third return is greyed out with the reason', async () => {
    let other = await register('大学东街 88 号院门口占道经营', '市民反映大学东街 88 号院门口有商贩占道经营，影响通行。')
    await perform('dispatcher', other.id, 'dispatch', { unit: saihan.unitCode, opinion: '请赛罕区处理' })
    await perform('clerk', other.id, 'sign')
    other = await read('clerk', other.id)
    let p = t.track(await t.page('clerk', `/t/${other.id}`))
    await act(p, 'clerk', other.id, 'dept_return', async () => {
      await p.fill('[data-test=field-reason] textarea', '占道经营属城管执法职责，不属本单位受理范围。')
    })
    await p.context().close()

    // Whoever the flow lets decide a return refuses it: the auditor if his
    // role may, else the dispatcher.
    const deciders = []
    for (const u of ['auditor', 'dispatcher']) {
      const r = await read(u, other.id).catch(() => null)
      if (r?.availableActions.some((a) => a.name === 'dept_return_reject' && !a.refusal)) deciders.push(u)
    }
    assert.ok(deciders.length, 'someone at the centre may refuse the return')
    const decider = deciders[0]
    console.log(`     the return is refused by ${decider} (deciders: ${deciders.join(', ')})`)
    other = await read(decider, other.id)
    p = await fromList(decider, other)
    await act(p, decider, other.id, 'dept_return_reject', async () => {
      await p.fill('[data-test=field-opinion] textarea', '经核实属赛罕区属地管理范围，请继续办理。')
    })
    await p.context().close()

    // A second return refused through GraphQL; the third is refused by the
    // flow's guard, whose message the clerk sees on the greyed button.
    await perform('clerk', other.id, 'dept_return', { reason: '再次申请退回，请中心改派城管局。' })
    await perform(decider, other.id, 'dept_return_reject', { opinion: '仍属属地管理范围，请继续办理。' })
    const refused = (await read('clerk', other.id)).availableActions.find((a) => a.name === 'dept_return')
    assert.ok(refused?.refusal, 'the third return is refused by a guard')
    p = t.track(await t.page('clerk', `/t/${other.id}`))
    const btn = p.locator('[data-test="action-dept_return"]')
    assert.equal(await btn.getAttribute('data-reason'), refused.refusal)
    assert.ok(await btn.locator('button').isDisabled())
    await btn.hover()
    await p.waitForSelector(`.el-popper >> text=${refused.refusal}`)
    await p.context().close()
  })
}
