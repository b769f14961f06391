// Ticket lists and the audit page in the browser, on loopback, against a
// `hotline serve --demo` with enough demo tickets for a page of 1,000:
//
//  - list: from the moment the GraphQL answer of a 1,000-row page of the
//    query page (工单查询) has fully arrived in the page to its rows painted
//    (issue 17: ≤ 300 ms), and a scroll from the top to the last row painted;
//  - audit page: time to interactive of the auditor's first to-do list,
//    signed in: navigation start until the menu and its rows are painted
//    (spec P-24: ≤ 1 s), with a cold cache and with the assets cached (a
//    returning user: they are hashed and cached for a year);
//  - audit action: performAction's round trip from the page (fetch to its
//    answer read), on the auditor's to-dos, each run another ticket, with
//    an action of theirs that needs no input (≤ 0.5 s).
//
// Median and p95 over the runs. Each run is a fresh browser context.
//
// Usage (after make build): node deploy/bench/ui/list.mjs [-runs N] [-tickets N] [-bin bin/hotline]
import { gql, launchChromium, login, startServer } from '../../../ui/e2e/server.mjs'

const arg = (name, def) => {
  const i = process.argv.indexOf('-' + name)
  return i > 0 ? process.argv[i + 1] : def
}
const runs = Number(arg('runs', 9))
const tickets = Number(arg('tickets', 1500))
const rows = Math.min(1000, tickets)
const server = await startServer(arg('bin', 'bin/hotline'), { tickets })
const browser = await launchChromium()
const user = 'auditor'
const token = await login(server.url, user)
const { myWorkbench } = await gql(server.url, token, '{ myWorkbench { name menu { name page state } } }')
const bench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'search'))
if (!bench) throw new Error(`${user} has no query page (page: search) in a workbench`)
const searchPath = `/w/${bench.name}/${bench.menu.find((e) => e.page === 'search').name}`
const listBench = myWorkbench.find((w) => w.menu.some((e) => e.page === 'tickets'))
const listEntry = listBench.menu.find((e) => e.page === 'tickets')
const listPath = `/w/${listBench.name}/${listEntry.name}`

// A context signed in as user (the token where the UI keeps it), its
// cache off, so each run loads the page as a first visit would.
async function fresh(cold = true) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'zh-CN' })
  await ctx.addInitScript((t) => localStorage.setItem('hotline.token', t), token)
  // The moment a big page's answer has fully arrived, before the UI reads it.
  await ctx.addInitScript((n) => {
    const orig = window.fetch
    window.fetch = async (input, init) => {
      const res = await orig(input, init)
      if (typeof init?.body !== 'string' || !init.body.includes(`"first":${n}`)) return res
      const body = await res.text()
      window.__answered = performance.now()
      return new Response(body, { status: res.status, headers: res.headers })
    }
  }, rows)
  const page = await ctx.newPage()
  page.setDefaultTimeout(60_000)
  if (cold) {
    const cdp = await ctx.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
  }
  return { ctx, page }
}

// painted resolves, in the page, with the time of the first frame painted
// after cond holds.
const painted = (page, cond, arg) =>
  page.evaluate(
    ([src, a]) =>
      new Promise((ok) => {
        const test = new Function('a', 'return (' + src + ')(a)')
        const check = () => (test(a) ? requestAnimationFrame(() => requestAnimationFrame(() => ok(performance.now()))) : requestAnimationFrame(check))
        check()
      }),
    [cond.toString(), arg],
  )

const list = []
const scroll = []
const audit = []
const warm = []
const action = []
const interactive = (page) =>
  painted(page, () => document.querySelector('[data-test=menu]') && (document.querySelector('[data-test=ticket-row]') || document.querySelector('[data-test=tickets-empty]')) && !document.querySelector('[data-test=tickets] .el-loading-mask'))
try {
  for (let i = 0; i < runs; i++) {
    const { ctx, page } = await fresh()
    await page.goto(server.url + searchPath)
    await page.waitForSelector('[data-test=ticket-row]')
    await page.click('[data-test=search-size]')
    await page.click(`.el-select-dropdown__item >> text=${rows}`)
    const shown = await painted(page, (n) => window.__answered && document.querySelector('[data-test=search-shown]')?.textContent?.includes(`已显示 ${n} `) && document.querySelector('[data-test=ticket-row]'), rows)
    list.push(shown - (await page.evaluate(() => window.__answered)))
    const last = await page.evaluate(() => document.querySelectorAll('[data-test=ticket-row]').length)
    if (!last) throw new Error('no rows')
    // The scroller is the table body's element that scrolls.
    const t0 = await page.evaluate(() => {
      const root = document.querySelector('[data-test=tickets]')
      const el = [...root.querySelectorAll('*')].find((e) => e.scrollHeight > e.clientHeight + 10 && getComputedStyle(e).overflowY !== 'visible')
      window.__scroller = el
      const t = performance.now()
      el.scrollTop = el.scrollHeight
      return t
    })
    const t1 = await painted(page, () => {
      const el = window.__scroller
      const rows = el.querySelectorAll('[data-test=ticket-row]')
      return el.scrollTop + el.clientHeight >= el.scrollHeight - 2 && rows.length > 0 && rows[rows.length - 1].getBoundingClientRect().bottom <= el.getBoundingClientRect().bottom + 2
    })
    scroll.push(t1 - t0)
    await ctx.close()
  }

  for (let i = 0; i < runs; i++) {
    const { ctx, page } = await fresh()
    await page.goto(server.url + listPath)
    audit.push(await interactive(page)) // performance.now() counts from navigation start

    // The round trip of an audit action, sent as the page sends it.
    // Tickets of the list's own state first: its audit step.
    const todo = (await gql(server.url, token, '{ myWorkTickets(first: 200) { edges { node { id state version availableActions { name required } } } } }')).myWorkTickets.edges.map((e) => e.node)
    const free = (n) => n.availableActions.some((a) => a.required.length === 0)
    const pick = todo.find((n) => n.state === listEntry.state && free(n)) ?? todo.find(free)
    if (pick) {
      const a = pick.availableActions.find((a) => a.required.length === 0)
      const ms = await page.evaluate(
        async ([id, name, version, tok]) => {
          const t = performance.now()
          const res = await fetch('/graphql', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + tok },
            body: JSON.stringify({
              query: 'mutation($id: ID!, $a: String!, $v: Int) { performAction(ticketId: $id, action: $a, input: {}, expectedVersion: $v) { id state stateLabel version } }',
              variables: { id, a: name, v: version },
            }),
          })
          const body = await res.json()
          if (body.errors) throw new Error(JSON.stringify(body.errors))
          return performance.now() - t
        },
        [pick.id, a.name, pick.version, token],
      )
      action.push(ms)
    }
    await ctx.close()

    // A returning user: the hashed assets are in the browser's cache.
    const w = await fresh(false)
    await w.page.goto(server.url + listPath)
    await interactive(w.page)
    await w.page.goto('about:blank')
    await w.page.goto(server.url + listPath)
    warm.push(await interactive(w.page))
    await w.ctx.close()
  }
} finally {
  await browser.close()
  await server.stop()
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]
  return s.length ? `median ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms (${s.length} runs, ${s[0].toFixed(0)}–${s.at(-1).toFixed(0)} ms)` : 'not measured (no to-do with an action that needs no input)'
}
console.log(`${rows}-row list: answer to rows painted ${stats(list)}; scroll to the last row ${stats(scroll)}`)
console.log(`audit page (${user}'s to-do list, signed in): interactive, cold cache ${stats(audit)}; assets cached ${stats(warm)}`)
console.log(`audit action: performAction round trip from the page ${stats(action)}`)
