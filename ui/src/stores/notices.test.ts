import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useNotices } from './notices'
import type { Notice } from '../graphql/documents'
import { fakeServer } from '../test/server'

const n = (id: string, readAt: string | null = null, level = 'info'): Notice => ({
  id,
  level,
  message: '您单位有新的工单待办理',
  number: '20261202000001',
  ticketId: '9',
  createdAt: '2026-12-02T10:00:00+08:00',
  readAt,
})

beforeEach(() => {
  vi.unstubAllGlobals()
  setActivePinia(createPinia())
})

describe('notices', () => {
  it('loads the unread count and the newest notices', async () => {
    fakeServer({ Notices: () => ({ data: { unreadNotices: 1, notices: { edges: [{ node: n('2') }, { node: n('1', '2026-12-02T09:00:00+08:00') }], pageInfo: { endCursor: '1', hasNextPage: false } } } }) })
    const s = useNotices()
    await s.refresh()
    expect(s.unread).toBe(1)
    expect(s.items.map((x) => x.id)).toEqual(['2', '1'])
  })

  it('a pushed notice goes on top once and counts as unread', () => {
    const s = useNotices()
    const heard: string[] = []
    s.onArrival((x) => heard.push(x.id))
    s.arrived(n('5', null, 'urgent'))
    s.arrived(n('5', null, 'urgent'))
    s.arrived(n('6'))
    expect(s.items.map((x) => x.id)).toEqual(['6', '5'])
    expect(s.unread).toBe(2)
    expect(heard).toEqual(['5', '6'])
  })

  it('marks only unread ones read and lowers the count by what the server marked', async () => {
    const calls = fakeServer({ MarkNoticesRead: (v) => ({ data: { markNoticesRead: (v.ids as string[]).length } }) })
    const s = useNotices()
    s.arrived(n('1'))
    s.arrived(n('2'))
    s.items = [...s.items, n('0', '2026-12-02T09:00:00+08:00')]
    await s.markRead(['1', '0'])
    expect(calls).toEqual([{ op: 'MarkNoticesRead', variables: { ids: ['1'] } }])
    expect(s.unread).toBe(1)
    expect(s.items.find((x) => x.id === '1')?.readAt).not.toBeNull()
    await s.markRead(['0'])
    expect(calls).toHaveLength(1)
  })

  it('marks all read', async () => {
    const calls = fakeServer({ MarkNoticesRead: () => ({ data: { markNoticesRead: 2 } }) })
    const s = useNotices()
    s.arrived(n('1'))
    s.arrived(n('2'))
    await s.markAllRead()
    expect(calls[0]!.variables).toEqual({ all: true })
    expect(s.unread).toBe(0)
    expect(s.items.every((x) => x.readAt)).toBe(true)
  })
})
