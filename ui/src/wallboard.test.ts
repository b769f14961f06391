import { describe, expect, it } from 'vitest'
import { forcible, percent, today } from './wallboard'
import type { AgentStateDef } from './graphql/phone'

const st = (name: string, category: string, manual: boolean): AgentStateDef => ({ name, label: name, category, manual, reasons: [], maxSeconds: null })

describe('the wallboard', () => {
  it('forces only what the server allows: self-selectable states and signing out', () => {
    const all = [st('out', 'signed_out', false), st('ready', 'idle', true), st('away', 'busy', true), st('ring', 'reserved', false), st('talk', 'talking', false)]
    expect(forcible(all).map((s) => s.name)).toEqual(['out', 'ready', 'away'])
  })

  it('writes rates as percentages, and none as a dash', () => {
    expect(percent(0.8125)).toBe('81.3%')
    expect(percent(1)).toBe('100.0%')
    expect(percent(null)).toBe('—')
    expect(percent(undefined)).toBe('—')
  })

  it('counts today from local midnight to the next', () => {
    const { from, to } = today(new Date(2026, 11, 2, 15, 30))
    expect(new Date(from).getTime()).toBe(new Date(2026, 11, 2).getTime())
    expect(new Date(to).getTime() - new Date(from).getTime()).toBe(24 * 3600_000)
  })
})
