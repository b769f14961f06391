import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { registerLink, registerPage, useScreenPop } from './screenpop'
import type { ScreenPop } from '../graphql/phone'
import type { Workbench } from '../graphql/documents'

const pop = (id: string, state: string): ScreenPop => ({
  call: { id, sipCallId: 'sip-' + id, caller: '13800138000', called: '12345', ivrPath: ['welcome', 'menu'], ivrPathLabels: ['欢迎语', '主菜单'], startedAt: '2026-12-02T10:00:00+08:00' },
  state,
  vars: { kind: '咨询' },
  inTransit: [],
  recentCalls: 2,
})

const entry = (name: string, page: string) => ({ name, label: name, page, flow: null, state: null, due: null, form: null, columns: [] })

beforeEach(() => setActivePinia(createPinia()))

describe('the screen pop', () => {
  it('opens on a call, updates on its next state, and ignores a repeat', () => {
    const s = useScreenPop()
    s.arrived(pop('1', 'ring'))
    expect(s.open).toBe(true)
    s.close()
    s.arrived(pop('1', 'ring'))
    expect(s.open).toBe(false)
    s.arrived(pop('1', 'talk'))
    expect(s.open).toBe(true)
    expect(s.pop?.state).toBe('talk')
    s.arrived(pop('2', 'ring'))
    expect(s.pop?.call.id).toBe('2')
  })

  it('links to the first registration entry of the menus, filled from the call', () => {
    const menus: Workbench[] = [
      { name: 'w1', label: '甲', menu: [entry('todo', 'tickets')] },
      { name: 'w2', label: '乙', menu: [entry('notices', 'notices'), entry('new', registerPage), entry('other', registerPage)] },
    ]
    expect(registerLink(menus, pop('1', 'ring'))).toEqual({
      name: 'entry',
      params: { bench: 'w2', entry: 'new' },
      query: { caller: '13800138000', call: 'sip-1' },
    })
    expect(registerLink(menus.slice(0, 1), pop('1', 'ring'))).toBeNull()
  })
})
