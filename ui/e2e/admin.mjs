// The administrators' pages: accounts (create with a one-time temporary
// password, reset), configuration (a bad text is refused with its line,
// a good one publishes a new version with a diff) and the audit log read
// by the security auditor.
import assert from 'node:assert/strict'

export default async function admin(t) {
  const { url, gql, login, shots, join, step } = t
  const token = await login(url, 'admin')
  const { myWorkbench } = await t.menuOf(token)
  const bench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'users'))
  assert.ok(bench, 'the admin has an accounts page')
  const entry = (page) => bench.menu.find((e) => e.page === page)
  const top = (await gql(url, token, '{ units(first: 1) { edges { node { id name } } } }')).units.edges[0].node
  let p

  await step('the admin creates an account in a unit and sees its temporary password once', async () => {
    p = await t.page('admin', `/w/${bench.name}/${entry('users').name}`)
    await p.waitForSelector(`[data-test=list-title] >> text=${entry('users').label}`)
    await p.waitForSelector('[data-test=users] .el-table__row')
    await p.click('[data-test=user-new]')
    const dialog = p.locator('[data-test=user-dialog]')
    await dialog.locator('input[name=username]').fill('e2e.admin.made')
    await dialog.locator('input[name=displayName]').fill('端到端账户')
    await dialog.locator('[data-test=user-unit]').click()
    await p.locator('.el-popover [data-test=unit-tree]').getByText(top.name, { exact: true }).click()
    const roles = (await gql(url, token, '{ roles { name label } }')).roles
    await dialog.locator('[data-test=user-roles]').click()
    await p.locator('.el-select-dropdown__item').filter({ hasText: roles[0].label }).first().click()
    await p.keyboard.press('Escape')
    await p.waitForTimeout(400) // the dropdown's closing transition
    await p.screenshot({ path: join(shots, 'admin-user.png') })
    await dialog.locator('[data-test=user-save]').click()
    const temp = (await p.textContent('[data-test=temporary-password-value]')).trim()
    assert.ok(temp.length >= 8, 'a temporary password is shown')
    // The password works once, and must be changed.
    const signed = await gql(url, null, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { mustChangePassword } }', { u: 'e2e.admin.made', p: temp })
    assert.equal(signed.login.mustChangePassword, true)
    await p.keyboard.press('Escape')
    await p.fill('[data-test=user-search]', 'e2e.admin.made')
    await p.waitForSelector('[data-test=users] >> text=端到端账户')
  })

  await step('a configuration text with a mistake is refused with its line; a good one publishes a new version', async () => {
    await p.click(`[data-test=menu-${bench.name}-${entry('config').name}]`)
    await p.waitForSelector('[data-test=config-docs] .el-table__row')
    // The document edited: a workbench (any role's menu), found by kind.
    const docs = (await gql(url, token, '{ configDocuments(kind: "workbench") { name version } }')).configDocuments
    const target = docs[0]
    await p.locator('[data-test=config-docs] .el-table__row').filter({ hasText: 'workbench' }).filter({ hasText: target.name }).first().click()
    await p.waitForSelector(`[data-test=config-open] >> text=workbench / ${target.name}`)
    const box = p.locator('[data-test=config-source]')
    const original = await box.inputValue()
    await box.fill(original.replace(/^label: .*$/m, 'label: [unclosed'))
    await p.click('[data-test=config-publish]')
    const problems = await p.textContent('[data-test=config-problems]')
    assert.match(problems, /:\d+:\d+: /, 'the problem names its line and column')
    await box.fill(original.replace(/^label: (.*)$/m, 'label: $1（已调整）'))
    await p.fill('[data-test=config-note]', '端到端：改工作台名称')
    await p.click('[data-test=config-publish]')
    await p.waitForSelector('.el-message--success')
    const after = (await gql(url, token, '{ configDocuments(kind: "workbench") { name version } }')).configDocuments.find((d) => d.name === target.name)
    assert.equal(after.version, target.version + 1, 'published as the next version')
    await p.click('.el-tabs__item >> text=版本')
    await p.click('[data-test=config-diff]')
    const diff = await p.textContent('[data-test=diff]')
    assert.ok(diff.includes('（已调整）'), 'the diff shows the change')
    await p.screenshot({ path: join(shots, 'config.png') })
    // Put it back, as the next suites read the menus.
    await gql(url, token, 'mutation($s: String!, $n: String!) { publishConfig(kind: "workbench", name: $n, source: $s, note: "e2e: restored") { ok } }', { s: original, n: target.name })
  })

  await step("the security auditor reads the admin's account creation in the audit log", async () => {
    const auditor = await login(url, 'secaudit').catch(() => null)
    assert.ok(auditor, 'the demo has a security auditor')
    const w = (await t.menuOf(auditor)).myWorkbench.find((x) => x.menu.some((e) => e.page === 'audit'))
    const e = w.menu.find((x) => x.page === 'audit')
    const a = await t.page('secaudit', `/w/${w.name}/${e.name}`)
    await a.fill('input[name=actor]', 'admin')
    await a.click('[data-test=audit-search]')
    await a.waitForSelector('[data-test=audit] .el-table__row')
    const rows = await a.textContent('[data-test=audit]')
    assert.ok(rows.includes('e2e.admin.made') || rows.includes('user'), rows.slice(0, 300))
    await a.screenshot({ path: join(shots, 'audit.png') })
  })
}
