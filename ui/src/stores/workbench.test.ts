import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { menuItems, useWorkbench } from './workbench'
import type { WorkbenchEntry } from '../graphql/documents'

const entry = (e: Partial<WorkbenchEntry>): WorkbenchEntry => ({ name: 'e', label: '列表', page: 'tickets', flow: null, state: null, due: null, form: null, columns: [], facets: [], ...e })

beforeEach(() => setActivePinia(createPinia()))

describe('workbench counts', () => {
  it.each([
    { name: 'every to-do', e: entry({}), want: 7 },
    { name: 'one flow', e: entry({ flow: 'f1' }), want: 5 },
    { name: 'one state of a flow', e: entry({ flow: 'f1', state: 's2' }), want: 3 },
    { name: 'a state with no to-do', e: entry({ flow: 'f1', state: 'gone' }), want: 0 },
    { name: 'overdue', e: entry({ due: 'overdue' }), want: 3 },
    { name: 'near due in a flow', e: entry({ flow: 'f1', due: 'near' }), want: 1 },
    { name: 'step overdue', e: entry({ due: 'step_overdue' }), want: 2 },
    { name: 'not a list', e: entry({ page: 'notices' }), want: undefined },
  ])('$name', ({ e, want }) => {
    const w = useWorkbench()
    w.work = {
      total: 7,
      overdue: 3,
      nearDue: 1,
      stepOverdue: 2,
      states: [
        { flow: 'f1', state: 's1', label: '甲', count: 2, overdue: 1, nearDue: 1, stepOverdue: 0 },
        { flow: 'f1', state: 's2', label: '乙', count: 3, overdue: 0, nearDue: 0, stepOverdue: 2 },
        { flow: 'f2', state: 's1', label: '丙', count: 2, overdue: 2, nearDue: 0, stepOverdue: 0 },
      ],
    }
    expect(w.count(e)).toBe(want)
  })

  it('finds an entry by workbench and name', () => {
    const w = useWorkbench()
    w.menus = [{ name: 'b', label: '工作台', menu: [entry({ name: 'x', label: '某列表' })] }]
    expect(w.find('b', 'x')?.label).toBe('某列表')
    expect(w.find('b', 'y')).toBeUndefined()
    expect(w.find('c', 'x')).toBeUndefined()
  })
})

describe('menuItems', () => {
  it('folds consecutive entries of a group under one heading and keeps the order', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => entry({ name: n }))
    const g1 = entry({ name: 'g1', group: '申请' })
    const g2 = entry({ name: 'g2', group: '申请' })
    const h = entry({ name: 'h', group: '其他' })
    expect(menuItems([a!, g1, g2, b!, h, c!, d!])).toEqual([
      { entry: a },
      { group: '申请', entries: [g1, g2] },
      { entry: b },
      { group: '其他', entries: [h] },
      { entry: c },
      { entry: d },
    ])
    expect(menuItems([])).toEqual([])
  })
})
