import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useWorkbench } from './workbench'
import { fakeServer } from '../test/server'

const menu = (label: string) => ({
  data: {
    myWorkbench: [{ name: 'b', label, menu: [] }],
    myWork: { total: 0, overdue: 0, nearDue: 0, stepOverdue: 0, states: [] },
  },
})

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

describe('workbench loading', () => {
  it('shares one request among the loads asked for while it is on its way', async () => {
    const calls = fakeServer({ MyWorkbench: () => menu('甲') })
    const w = useWorkbench()
    await Promise.all([w.load(), w.load(), w.load()])
    expect(calls.length).toBe(1)
    expect(w.menus[0].label).toBe('甲')
    await w.load() // a later load asks again
    expect(calls.length).toBe(2)
  })

  it("drops an answer from before a sign-out, so the next user never sees the last one's menu", async () => {
    let n = 0
    fakeServer({ MyWorkbench: () => menu(++n === 1 ? '上一位' : '这一位') })
    const w = useWorkbench()
    const before = w.load()
    w.clear()
    await before
    expect(w.menus).toEqual([])
    expect(w.loaded).toBe(false)
    await w.load()
    expect(w.menus[0].label).toBe('这一位')
    expect(w.loaded).toBe(true)
  })
})
