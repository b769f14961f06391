// The screen pop's latency: from the INVITE reaching the agent's desk
// phone (sipp, the time its -trace_msg log gives the message) to the pop
// on the agent's screen (the first animation frame after the pop's
// element names the call, in chromium), over N calls one after another.
// The server runs the repository's configuration plus the telephony
// benchmark's short menu (99999: a prompt the caller interrupts with 1,
// then the general queue) and one-second wrap-up, so a call reaches the
// agent in about a second and the next can follow.
//
// Usage (after make build): node deploy/bench/ui/screenpop.mjs [-calls N] [-bin bin/hotline]
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gql, launchChromium, login, repo, startServer } from '../../../ui/e2e/server.mjs'
import { agentPhone, invites, sipp } from '../../../ui/e2e/sip.mjs'

const arg = (name, def) => {
  const i = process.argv.indexOf('-' + name)
  return i > 0 ? process.argv[i + 1] : def
}
const calls = Number(arg('calls', 20))
const password = process.env.HOTLINE_DEMO_PASSWORD || 'Hotline@12345'

// The configuration: the repository's with the benchmark's files over it,
// as deploy/bench/sip/run.sh builds it.
const conf = mkdtempSync(join(tmpdir(), 'screenpop-conf-'))
for (const d of ['flows', 'forms', 'scripts']) cpSync(join(repo, d), join(conf, d), { recursive: true })
for (const f of readdirSync(join(repo, 'deploy/bench/sip/flows'))) cpSync(join(repo, 'deploy/bench/sip/flows', f), join(conf, 'flows', f))
symlinkSync(join(repo, 'testdata'), join(conf, 'testdata'))

const server = await startServer(arg('bin', 'bin/hotline'), { tickets: 0, sip: true, config: conf })
const browser = await launchChromium()
const peers = []
let shown
try {
  const token = await login(server.url, 'agent')
  const me = (await gql(server.url, token, '{ myAgent { extension } }')).myAgent
  const phone = await agentPhone(server.sip, me.extension, password, { calls, extra: ['-rtp_echo', '-trace_msg'] })
  peers.push(phone)

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale: 'zh-CN' })
  const page = await ctx.newPage()
  await page.goto(server.url + '/login')
  await page.fill('input[name=username]', 'agent')
  await page.fill('input[name=password]', password)
  await page.click('[data-test=login-submit]')
  await page.waitForSelector('[data-test=phone-signin]')
  // Each new call the pop names is noted at the next frame: on screen.
  await page.evaluate(() => {
    const seen = (window.__pops = {})
    const note = () => {
      const el = document.querySelector('[data-test=screen-pop]')
      const call = el?.getAttribute('data-call')
      if (call && !(call in seen) && el.querySelector('[data-test=pop-caller]')?.textContent) {
        seen[call] = null
        requestAnimationFrame(() => (seen[call] = Date.now()))
      }
    }
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-call'] })
  })
  await page.click('[data-test=phone-signin]')
  await page.waitForSelector('[data-test=phone-timer]')

  // One call every 5 s: each is rung, answered and hangs up 2.5 s after
  // its key; the agent wraps up for a second and is idle again. On a
  // loaded machine a caller may give up before the agent is free: that
  // call never rings (the phone's sipp then counts a failed call), and the
  // figures are of the calls that did.
  const callers = await sipp(server.sip, 'deploy/bench/sip/caller.xml', '99999', { calls, extra: ['-r', '1', '-rp', '5000', '-d', '2500', '-rtp_echo'] })
  peers.push(callers)
  await Promise.allSettled([callers.done, phone.done])
  shown = await page.evaluate(() => window.__pops)
  const file = readdirSync(phone.dir).find((f) => f.endsWith('_messages.log'))
  const rung = invites(readFileSync(join(phone.dir, file), 'utf8'))
  const lat = []
  for (const [call, at] of rung) if (shown[call]) lat.push(shown[call] - at)
  if (lat.length === 0) throw new Error(`no pop of ${calls} calls (${rung.size} rang the phone):\n${phone.output().slice(-2000)}`)
  lat.sort((a, b) => a - b)
  const q = (p) => lat[Math.min(lat.length - 1, Math.ceil(p * lat.length) - 1)]
  console.log(
    `screen pop, INVITE at the agent's phone to the pop on screen, ${lat.length} of ${calls} calls: median ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms (fastest ${lat[0].toFixed(0)} ms, slowest ${lat.at(-1).toFixed(0)} ms)`,
  )
} finally {
  for (const p of peers) p.stop()
  await browser.close()
  await server.stop()
  rmSync(conf, { recursive: true, force: true })
}
