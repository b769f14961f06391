// First load of the web UI's login page, cold cache, on loopback: the
// JS and CSS the browser transfers (compressed, as sent) and the time from
// navigation start until the login form is rendered and its button
// enabled (the page is then interactive: Vue has mounted its handlers).
// Each run is a fresh browser context, so nothing is cached.
//
// Usage (after make build): node deploy/bench/ui/login.mjs [-runs N] [-bin bin/hotline]
import { launchChromium, startServer } from '../../../ui/e2e/server.mjs'

const arg = (name, def) => {
  const i = process.argv.indexOf('-' + name)
  return i > 0 ? process.argv[i + 1] : def
}
const runs = Number(arg('runs', 7))
const server = await startServer(arg('bin', 'bin/hotline'), { tickets: 0 })
const browser = await launchChromium()
const results = []
try {
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } })
    const page = await ctx.newPage()
    const cdp = await ctx.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
    const types = new Map()
    let js = 0
    let css = 0
    let requests = 0
    cdp.on('Network.responseReceived', (e) => types.set(e.requestId, e.type))
    cdp.on('Network.loadingFinished', (e) => {
      const t = types.get(e.requestId)
      if (t === 'Script') js += e.encodedDataLength
      else if (t === 'Stylesheet') css += e.encodedDataLength
      else return
      requests++
    })
    await page.goto(server.url + '/login')
    await page.waitForSelector('[data-test=login-submit]:not([disabled])')
    const interactive = await page.evaluate(() => performance.now())
    await page.waitForLoadState('networkidle')
    results.push({ interactive, js, css, requests })
    await ctx.close()
  }
} finally {
  await browser.close()
  await server.stop()
}
const sorted = results.map((r) => r.interactive).sort((a, b) => a - b)
const median = sorted[Math.floor(sorted.length / 2)]
const last = results.at(-1)
const kb = (b) => (b / 1024).toFixed(1)
console.log(
  `login page, cold cache, ${runs} runs: interactive in ${median.toFixed(0)} ms median (${sorted[0].toFixed(0)}–${sorted.at(-1).toFixed(0)} ms); ` +
    `JS+CSS transferred ${kb(last.js + last.css)} KB (JS ${kb(last.js)} KB, CSS ${kb(last.css)} KB, ${last.requests} files, brotli)`,
)
