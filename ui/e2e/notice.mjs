// Announcements and alerts: the leader publishes an urgent announcement to
// the agents' role in the browser; the agent, already signed in, gets the
// blocking modal and the pop-up live, acknowledges it, and the leader's
// progress goes from 0 to 1 acknowledged.
import assert from 'node:assert/strict'

export default async function notice(t) {
  const { url, gql, login, shots, join, step } = t
  const leaderToken = await login(url, 'leader')
  const agentToken = await login(url, 'agent')
  const bench = (await t.menuOf(leaderToken)).myWorkbench.find((w) => w.menu.some((e) => e.page === 'announcements'))
  assert.ok(bench, "the leader's workbench has the announcements page")
  const entry = bench.menu.find((e) => e.page === 'announcements')
  // The audience is the agent's own role, by its label as the server gives it.
  const { me } = await gql(url, agentToken, '{ me { roles } }')
  const { roles } = await gql(url, leaderToken, '{ roles { name label } }')
  const role = roles.find((r) => r.name === me.roles[0])
  const title = `系统升级通知 ${Date.now() % 100000}`
  let agent, leader, published
  const unreadBefore = (await gql(url, agentToken, '{ unreadNotices }')).unreadNotices

  try {
    await step('the agent is signed in with no announcement waiting', async () => {
      agent = await t.page('agent')
      await agent.waitForTimeout(500)
      assert.equal(await agent.locator('[data-test=announcement-modal]').isVisible(), false)
    })

    await step('the leader publishes an urgent announcement to the agents', async () => {
      leader = await t.page('leader', `/w/${bench.name}/${entry.name}`)
      await leader.waitForSelector('[data-test=announcements] [data-test=published]')
      await leader.getByRole('tab', { name: '发布公告' }).click()
      // An empty title is refused by the server, next to the field.
      await leader.fill('[data-test=publish-body]', '今晚 22:00 至 23:00 系统升级，请提前保存工单。\n升级期间请使用备用电话登记。')
      await leader.click('[data-test=publish-submit]')
      await leader.waitForSelector('.el-form-item__error >> text=请填写公告标题')
      await leader.fill('[data-test=publish-title]', title)
      await leader.locator('[data-test=publish-level]').getByText('紧急', { exact: true }).click()
      await leader.locator('[data-test=publish-roles]').click()
      await leader.locator('.el-select-dropdown__item').filter({ hasText: role.label }).first().click()
      await leader.keyboard.press('Escape')
      await leader.click('[data-test=publish-submit]')
      await leader.waitForSelector(`[data-test=published] [data-test=published-title] >> text=${title}`)
      const row = leader.locator('[data-test=published] .el-table__row').filter({ hasText: title })
      const list = (await gql(url, leaderToken, '{ announcements(published: true, first: 5) { id title total acknowledged } }')).announcements
      published = list.find((a) => a.title === title)
      assert.ok(published && published.total > 1, 'sent to every agent')
      assert.equal((await row.locator('[data-test=ack-count]').textContent()).trim(), `0/${published.total}`)
    })

    await step('the agent gets the announcement live: a pop-up and a modal that blocks until 我已阅读', async () => {
      await agent.waitForSelector(`[data-test=announcement-title] >> text=${title}`)
      await agent.waitForSelector(`.el-notification >> text=公告：${title}`)
      // Urgent: the alert sound was played (the switch counts them).
      assert.ok(Number(await agent.getAttribute('[data-test=mute]', 'data-played')) >= 1, 'the urgent notice sounded')
      await agent.waitForTimeout(400) // the modal's opening transition
      await agent.screenshot({ path: join(shots, 'announcement.png') })
      // The modal has no close button and stays on Escape.
      await agent.keyboard.press('Escape')
      await agent.waitForTimeout(300)
      assert.ok(await agent.locator('[data-test=announcement-title]').isVisible())
      await agent.click('[data-test=announcement-ack]')
      await agent.waitForSelector('[data-test=announcement-title]', { state: 'hidden' })
      // The acknowledgement read the notice that brought it.
      await agent.waitForFunction((u0) => {
        const badge = document.querySelector('[data-test=bell] sup')
        return u0 === 0 ? !badge || badge.style.display === 'none' : badge?.textContent.trim() === String(u0)
      }, unreadBefore)
      const mine = (await gql(url, agentToken, '{ announcements(first: 5) { title acknowledgedAt } }')).announcements
      assert.ok(mine.find((a) => a.title === title).acknowledgedAt, 'the acknowledgement is recorded')
    })

    await step("the leader's progress goes to 1 acknowledged", async () => {
      const row = leader.locator('[data-test=published] .el-table__row').filter({ hasText: title })
      await row.locator('[data-test=ack-count]', { hasText: `1/${published.total}` }).waitFor()
      await row.locator('.el-table__expand-icon').click()
      await leader.waitForSelector('[data-test=pending]')
      await leader.waitForTimeout(300)
      await leader.screenshot({ path: join(shots, 'announcements.png') })
    })

    await step('a new sign-in brings the modal of what is still unacknowledged; muted, an urgent one pops up silently after a reload', async () => {
      const { pending } = (await gql(url, leaderToken, `{ announcements(published: true, first: 5) { title pending(first: 50) { username } } }`)).announcements.find(
        (a) => a.title === title,
      )
      const other = pending.map((p) => p.username).find((u) => u !== 'leader') ?? pending[0].username
      const p = await t.page(other)
      await p.waitForSelector(`[data-test=announcement-title] >> text=${title}`)
      await p.click('[data-test=announcement-ack]')
      await p.waitForSelector('[data-test=announcement-title]', { state: 'hidden' })
      await p.click('[data-test=mute]')
      await p.reload()
      await p.waitForSelector('[data-test=unmute]')
      // Muted, an urgent notice pops up without the sound.
      await gql(url, leaderToken, 'mutation($in: AnnouncementInput!) { publishAnnouncement(input: $in) { id } }', {
        in: { title: title + ' 补充', body: '升级推迟半小时。', level: 'urgent', users: [other] },
      })
      await p.waitForSelector(`.el-notification >> text=公告：${title} 补充`)
      assert.equal(await p.getAttribute('[data-test=unmute]', 'data-played'), '0')
      await p.click('[data-test=announcement-ack]')
      await p.waitForSelector('[data-test=announcement-title]', { state: 'hidden' })
      await p.context().close()
    })
  } finally {
    // Every recipient acknowledges what this suite published, even when a
    // step failed, so no later suite's user meets a modal it does not expect.
    const mine = (await gql(url, leaderToken, `{ announcements(published: true, first: 20) { id title pending(first: 200) { username } } }`)).announcements
    for (const a of mine.filter((a) => a.title.startsWith(title))) {
      for (const { username } of a.pending) {
        const token = await login(url, username).catch(() => null)
        if (token) await gql(url, token, 'mutation($id: ID!) { acknowledgeAnnouncement(id: $id) { id } }', { id: a.id }).catch(() => {})
      }
    }
    await agent?.context().close()
    await leader?.context().close()
  }
}
