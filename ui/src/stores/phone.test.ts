import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { choices, clock, elapsed, left, usePhone } from './phone'
import type { Agent, AgentStateDef } from '../graphql/phone'
import { fakeServer } from '../test/server'

// States as a configuration might define them (names made up: the bar
// reasons only about categories).
const states: AgentStateDef[] = [
  { name: 'off', label: '签出', category: 'signed_out', manual: false, reasons: [], maxSeconds: null },
  { name: 'ready', label: '示闲', category: 'idle', manual: true, reasons: [], maxSeconds: null },
  { name: 'away', label: '示忙', category: 'busy', manual: true, reasons: ['会议', '培训'], maxSeconds: null },
  { name: 'after', label: '整理', category: 'wrapup', manual: true, reasons: [], maxSeconds: 30 },
  { name: 'ring', label: '振铃', category: 'reserved', manual: false, reasons: [], maxSeconds: null },
  { name: 'talk', label: '通话中', category: 'talking', manual: false, reasons: [], maxSeconds: null },
]

const agent = (state: string, since = '2026-12-02T10:00:00+08:00', reason = '', task = ''): Agent => ({
  userId: '7',
  username: 'a',
  displayName: '座席甲',
  extension: '8001',
  state,
  stateLabel: states.find((s) => s.name === state)?.label ?? state,
  reason,
  since,
  task,
})

beforeEach(() => {
  vi.unstubAllGlobals()
  setActivePinia(createPinia())
})

describe('the state menu', () => {
  it('offers each self-selectable state once per reason, without the current one', () => {
    expect(choices(states, agent('ready')).map((c) => c.label)).toEqual(['示忙 · 会议', '示忙 · 培训', '整理'])
    expect(choices(states, agent('away', undefined, '会议')).map((c) => [c.state, c.reason])).toEqual([
      ['ready', ''],
      ['away', '培训'],
      ['after', ''],
    ])
  })

  it('never offers signing out, ringing or talking as a state to pick', () => {
    const picked = choices(states, null).map((c) => c.state)
    expect(picked).not.toContain('off')
    expect(picked).not.toContain('ring')
    expect(picked).not.toContain('talk')
  })
})

describe('the state timer', () => {
  const since = '2026-12-02T10:00:00+08:00'
  const at = (s: number) => Date.parse(since) + s * 1000

  it('counts whole seconds since the state began and never below zero', () => {
    expect(elapsed(since, at(0))).toBe(0)
    expect(elapsed(since, at(61.9))).toBe(61)
    expect(elapsed(since, at(-3))).toBe(0)
    expect(elapsed(null, at(5))).toBe(0)
    expect(elapsed('not a time', at(5))).toBe(0)
  })

  it('reads m:ss, then h:mm:ss', () => {
    expect(clock(0)).toBe('0:00')
    expect(clock(75)).toBe('1:15')
    expect(clock(3600 + 62)).toBe('1:01:02')
  })

  it('tells how long a limited state has left', () => {
    expect(left(states[3], since, at(12))).toBe(18)
    expect(left(states[3], since, at(99))).toBe(0)
    expect(left(states[1], since, at(12))).toBeNull()
  })
})

describe('the phone store', () => {
  it('a user who is no agent gets no bar and no error', async () => {
    fakeServer({ MyAgent: () => ({ errors: [{ message: '该用户不是座席（未设置分机）', extensions: { code: 'BAD_USER_INPUT', field: 'agent' } }] }) })
    const p = usePhone()
    await p.start()
    expect(p.isAgent).toBe(false)
    expect(p.error).toBeNull()
  })

  it('an older view of the agent does not replace a newer one', () => {
    const p = usePhone()
    p.states = states
    p.take(agent('away', '2026-12-02T10:00:05+08:00', '会议'))
    p.take(agent('ready', '2026-12-02T10:00:00+08:00'))
    expect(p.agent?.state).toBe('away')
    p.take(agent('talk', '2026-12-02T10:00:09+08:00', '', 'sip-1'))
    expect(p.agent?.state).toBe('talk')
    expect(p.onCall).toBe(true)
    expect(p.signedIn).toBe(true)
  })

  it('sums the waiting callers of the agent’s queues', () => {
    const p = usePhone()
    p.queues = [
      { name: 'q1', label: '综合', waiting: 2, idle: 0, signedIn: 3, waitingSince: '2026-12-02T10:00:00+08:00' },
      { name: 'q2', label: '企业', waiting: 1, idle: 1, signedIn: 1, waitingSince: null },
    ]
    expect(p.waiting).toBe(3)
  })

  it('signed out is the signed-out category, whatever the state is called', () => {
    const p = usePhone()
    p.states = states
    p.take(agent('off'))
    expect(p.signedIn).toBe(false)
  })
})
