// Real SIP peers for the UI's telephony tests and benchmark: sipp (Debian
// sip-tester) with the scenarios of testdata/sipp, as the Go telephony
// tests use them. Ports are free ones the system hands out, never fixed.
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repo } from './server.mjs'

// freeUdpPort asks the system for a UDP port nobody holds.
export function freeUdpPort() {
  return new Promise((ok, fail) => {
    const s = createSocket('udp4')
    s.once('error', fail)
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => ok(port))
    })
  })
}

// sipp starts one sipp: scenario (a path under the repository, or a name
// in testdata/sipp) against addr, calling service. It returns the process,
// its output so far, and done, which resolves with the output when it
// exits 0 and rejects otherwise. dir is the working folder (where
// -trace_msg writes its log).
export async function sipp(addr, scenario, service, { port, calls = 1, dir, extra = [] } = {}) {
  const sf = scenario.includes('/') ? join(repo, scenario) : join(repo, 'testdata/sipp', scenario)
  const cwd = dir ?? mkdtempSync(join(tmpdir(), 'sipp-'))
  const args = ['-sf', sf, '-s', service, addr, '-m', String(calls), '-i', '127.0.0.1', '-p', String(port ?? (await freeUdpPort())),
    '-mp', String(await freeUdpPort()), '-nostdin', '-timeout', '180s', '-timeout_error', '-recv_timeout', '120s', ...extra]
  const child = spawn('sipp', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TZ: 'UTC' } })
  let out = ''
  child.stdout.on('data', (c) => (out = (out + c).slice(-20000)))
  child.stderr.on('data', (c) => (out = (out + c).slice(-20000)))
  const done = new Promise((ok, fail) => {
    child.on('error', (e) => fail(new Error(`sipp ${scenario}: ${e.message} (Debian package sip-tester)`)))
    child.on('exit', (code) => (code === 0 ? ok(out) : fail(new Error(`sipp ${scenario} exited ${code}:\n${out.slice(-3000)}`))))
  })
  done.catch(() => {}) // a caller that never waits is told by stop
  return { child, done, dir: cwd, output: () => out, stop: () => child.exitCode === null && child.kill('SIGTERM') }
}

// agentPhone starts an agent's desk phone for extension ext: one sipp
// answering calls on a port of its own (agent_answer.xml, -m calls) and
// one registering that port as the extension's contact with the digest
// password (agent_register.xml), as core/telephony's tests do (sipp drops
// requests of calls it did not start, so answering is a second sipp).
export async function agentPhone(addr, ext, password, { calls = 1, scenario = 'agent_answer.xml', extra = ['-rtp_echo'] } = {}) {
  const answerPort = await freeUdpPort()
  const phone = await sipp(addr, scenario, ext, { port: answerPort, calls, extra })
  const reg = await sipp(addr, 'agent_register.xml', ext, { extra: ['-au', ext, '-ap', password, '-key', 'answer_port', String(answerPort)] })
  await reg.done
  return phone
}

// invites reads the INVITEs a sipp run with -trace_msg received: the
// time each arrived (ms since the epoch) by its X-Hotline-Call header,
// the platform's call id that the screen pop names too.
export function invites(log) {
  const out = new Map()
  for (const block of log.split(/^-{10,} /m)) {
    const m = /^(\d{4}-\d{2}-\d{2})\s+(\d{2}:\d{2}:\d{2})\.(\d{6})[^\n]*\n[^\n]*received[^\n]*\n\s*INVITE /.exec(block)
    if (!m) continue
    const call = /^X-Hotline-Call:\s*(\S+)/im.exec(block)?.[1]
    if (call && !out.has(call)) out.set(call, Date.parse(`${m[1]}T${m[2]}Z`) + Number(m[3]) / 1000)
  }
  return out
}
