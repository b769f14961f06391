// End-to-end test of the web UI: Debian chromium (playwright-core) against
// a real `hotline serve --demo` on a free port, with a fresh data folder.
// Labels the pages must show are read from the server (myWorkbench, me) as
// the same user, not written here. Screenshots (1280×720) go to
// e2e/screenshots/.
//
// Each area of the UI is a suite: a module exporting a default function
// that takes the harness below and runs its steps. Suites share one server
// and one browser and run in the order listed; a failing suite does not
// stop the next, and any failure fails the run.
//
// Usage: node e2e/run.mjs ../bin/hotline [suite…]   (all suites by default)
import { mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gql, launchChromium, login, startServer } from './server.mjs'

const suites = {
  shell: () => import('./shell.mjs'),
  admin: () => import('./admin.mjs'),
  knowledge: () => import('./knowledge.mjs'),
  favorites: () => import('./favorites.mjs'),
  phone: () => import('./phone.mjs'),
  search: () => import('./search.mjs'),
  notice: () => import('./notice.mjs'),
  forms: () => import('./forms.mjs'),
  workflow: () => import('./workflow.mjs'),
}

const here = dirname(fileURLToPath(import.meta.url))
const shots = join(here, 'screenshots')
const chosen = process.argv.slice(3)
for (const s of chosen) if (!suites[s]) throw new Error(`no suite ${s}; suites: ${Object.keys(suites).join(', ')}`)
if (chosen.length === 0) rmSync(shots, { recursive: true, force: true })
mkdirSync(shots, { recursive: true })
const password = process.env.HOTLINE_DEMO_PASSWORD || 'Hotline@12345'
const wait = 20_000

// The server takes calls (SIP on a free port, t.server.sip) for the phone
// suite's sipp peers; nothing calls it otherwise.
const server = await startServer(process.argv[2] || '../bin/hotline', { sip: true, articles: 30 })
const browser = await launchChromium()
const url = server.url
let failed = false
let last // the page a failing step's screenshot shows

const t = {
  url,
  shots,
  join,
  wait,
  password,
  gql,
  login,
  server,
  browser,
  // track marks the page a failure screenshot should show; returns it.
  track(p) {
    last = p
    return p
  },
  async step(name, fn) {
    const t0 = Date.now()
    try {
      await fn()
      console.log(`ok   ${name} (${Date.now() - t0} ms)`)
    } catch (e) {
      failed = true
      console.log(`FAIL ${name}\n${e.stack || e}`)
      if (last) await last.screenshot({ path: join(shots, 'failure-' + name.replace(/\W+/g, '-') + '.png') }).catch(() => {})
      throw e
    }
  },
  async newPage() {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'zh-CN' })
    const p = await ctx.newPage()
    p.setDefaultTimeout(wait)
    p.on('pageerror', (e) => console.log('page error:', e.message))
    return p
  },
  async signIn(p, username, pw = password) {
    await p.fill('input[name=username]', username)
    await p.fill('input[name=password]', pw)
    await p.click('[data-test=login-submit]')
  },
  // page opens a fresh page signed in as username, at path (default /).
  async page(username, path = '/') {
    const p = t.track(await t.newPage())
    await p.goto(url + '/login?redirect=' + encodeURIComponent(path))
    await t.signIn(p, username)
    await p.waitForSelector('[data-test=menu]')
    return p
  },
  async menuOf(token) {
    return await gql(url, token, '{ myWorkbench { name label menu { name label page flow state due form group } } me { displayName unit { id name } } }')
  },
  async unread(p) {
    return Number(await p.textContent('[data-test=unread]', { timeout: wait }).catch(() => 'NaN'))
  },
}

try {
  for (const name of chosen.length ? chosen : Object.keys(suites)) {
    console.log(`== ${name}`)
    try {
      await (await suites[name]()).default(t)
    } catch {
      // reported by step; the next suite still runs
    }
  }
} finally {
  await browser.close()
  await server.stop()
}
if (failed) {
  console.log(server.log().slice(-3000))
  process.exit(1)
}
console.log('e2e: all passed; screenshots in', shots)
