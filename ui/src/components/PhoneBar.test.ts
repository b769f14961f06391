import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { mount } from '@vue/test-utils'
import PhoneBar from './PhoneBar.vue'
import { usePhone } from '../stores/phone'
import type { AgentStateDef } from '../graphql/phone'

const states: AgentStateDef[] = [
  { name: 'off', label: '签出', category: 'signed_out', manual: false, reasons: [], maxSeconds: null },
  { name: 'ready', label: '示闲', category: 'idle', manual: true, reasons: [], maxSeconds: null },
  { name: 'away', label: '示忙', category: 'busy', manual: true, reasons: ['会议'], maxSeconds: null },
  { name: 'talk', label: '通话中', category: 'talking', manual: false, reasons: [], maxSeconds: null },
]

beforeEach(() => {
  setActivePinia(createPinia())
  vi.useFakeTimers()
  vi.setSystemTime(new Date('2026-12-02T10:01:05+08:00'))
})
afterEach(() => vi.useRealTimers())

function agentIn(state: string, reason = '') {
  const p = usePhone()
  p.states = states
  p.isAgent = true
  p.agent = { userId: '7', username: 'a', displayName: '座席甲', extension: '8001', state, stateLabel: states.find((s) => s.name === state)!.label, reason, since: '2026-12-02T10:00:00+08:00', task: '' }
  return p
}

describe('the phone bar', () => {
  it('is not drawn for a user who is no agent', () => {
    const w = mount(PhoneBar)
    expect(w.find('[data-test=phone-bar]').exists()).toBe(false)
  })

  it('offers signing in to a signed-out agent, without a timer', () => {
    agentIn('off')
    const w = mount(PhoneBar)
    expect(w.find('[data-test=phone-signin]').exists()).toBe(true)
    expect(w.find('[data-test=phone-timer]').exists()).toBe(false)
  })

  it('shows the state, its reason and a timer that counts on', async () => {
    agentIn('away', '会议')
    const w = mount(PhoneBar)
    expect(w.find('[data-test=phone-state]').text()).toBe('示忙（会议）')
    expect(w.find('[data-test=phone-timer]').text()).toBe('1:05')
    await vi.advanceTimersByTimeAsync(2000)
    expect(w.find('[data-test=phone-timer]').text()).toBe('1:07')
    w.unmount()
  })

  it('a state the server pushes (a leader forcing) replaces the shown one and restarts the timer', async () => {
    const p = agentIn('ready')
    const w = mount(PhoneBar)
    p.take({ ...p.agent!, state: 'away', stateLabel: '示忙', reason: '班长强制', since: '2026-12-02T10:01:05+08:00' })
    await vi.advanceTimersByTimeAsync(1000)
    expect(w.find('[data-test=phone-state]').text()).toBe('示忙（班长强制）')
    expect(w.find('[data-test=phone-timer]').text()).toBe('0:01')
    w.unmount()
  })
})
