// Starts a real `hotline serve --demo` on a free port with a fresh data
// folder, for the end-to-end test and the UI benchmark. The address comes
// from the log line "hotline ready http=…". With sip, it takes calls too,
// on a port the system picks (UDP and TCP), named by the log line
// "listening for SIP" and returned as sip (host:port). config is the
// configuration folder (default: the repository's).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export async function startServer(bin, { tickets = 50, articles = 0, sip = false, config = repo } = {}) {
  const data = mkdtempSync(join(tmpdir(), 'hotline-ui-'))
  const child = spawn(resolve(bin), ['serve', '--demo', '--demo-tickets', String(tickets), '--demo-articles', String(articles)], {
    cwd: repo,
    env: {
      ...process.env,
      HOTLINE_HTTP_ADDR: '127.0.0.1:0',
      HOTLINE_SIP_ADDR: sip ? '127.0.0.1:0' : '',
      HOTLINE_DATA_DIR: data,
      HOTLINE_CONFIG_DIR: config,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('hotline did not get ready in 120 s:\n' + log.slice(-4000))), 120_000)
    const take = (chunk) => {
      log += chunk
      const m = /msg="hotline ready" http=(http:\/\/[^\s]+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        ok(m[1])
      }
    }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('exit', (code) => fail(new Error(`hotline exited (${code}) before it was ready:\n` + log.slice(-4000))))
  })
  const sipAddr = sip ? /msg="listening for SIP".* addr=([0-9.]+:\d+)/.exec(log)?.[1] : undefined
  if (sip && !sipAddr) throw new Error('hotline did not say where it listens for SIP:\n' + log.slice(-4000))
  async function stop() {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      // The timer is cleared once the server is gone: left running, it
      // kept every caller's process alive for its 20 s.
      let timer
      await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 20_000)))])
      clearTimeout(timer)
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    rmSync(data, { recursive: true, force: true })
  }
  return { url, sip: sipAddr, stop, log: () => log }
}

// gql runs one GraphQL operation as a user (token), throwing on errors.
export async function gql(url, token, query, variables = {}) {
  const headers = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = 'Bearer ' + token
  const res = await fetch(url + '/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) })
  const body = await res.json()
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors))
  return body.data
}

export async function login(url, username, password = process.env.HOTLINE_DEMO_PASSWORD || 'Hotline@12345') {
  const d = await gql(url, null, 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }', { u: username, p: password })
  return d.login.token
}

export async function launchChromium() {
  const { chromium } = await import('playwright-core')
  // A fresh, throwaway profile each launch (playwright's default).
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
}
