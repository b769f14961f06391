import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useAnnouncements } from './announcements'
import type { Announcement } from '../graphql/announce'
import { fakeServer } from '../test/server'

const a = (id: string, acknowledgedAt: string | null = null): Announcement => ({
  id,
  title: '系统升级通知',
  body: '今晚 22:00 起系统升级，请提前保存。',
  level: 'urgent',
  publisher: '班长',
  createdAt: '2026-12-02T10:00:00+08:00',
  expiresAt: null,
  acknowledgedAt,
})

beforeEach(() => {
  vi.unstubAllGlobals()
  setActivePinia(createPinia())
})

describe('announcements', () => {
  it('loads the unacknowledged ones; the first is the one the modal shows', async () => {
    const calls = fakeServer({ MyAnnouncements: () => ({ data: { announcements: [a('3'), a('2')] } }) })
    const s = useAnnouncements()
    expect(s.current).toBeNull()
    await s.refresh()
    expect(calls[0].variables).toMatchObject({ unacknowledged: true })
    expect(s.current?.id).toBe('3')
    expect(s.pending.map((x) => x.id)).toEqual(['3', '2'])
  })

  it('acknowledging one shows the next, and the last one reloads the list', async () => {
    let server = [a('3'), a('2')]
    const calls = fakeServer({
      MyAnnouncements: () => ({ data: { announcements: server } }),
      AcknowledgeAnnouncement: (v) => {
        server = server.filter((x) => x.id !== v.id)
        return { data: { acknowledgeAnnouncement: a(String(v.id), '2026-12-02T10:05:00+08:00') } }
      },
    })
    const s = useAnnouncements()
    await s.refresh()
    await s.acknowledge('3')
    expect(s.current?.id).toBe('2')
    expect(calls.map((c) => c.op)).toEqual(['MyAnnouncements', 'AcknowledgeAnnouncement'])
    await s.acknowledge('2')
    expect(s.current).toBeNull()
    expect(calls.map((c) => c.op)).toEqual(['MyAnnouncements', 'AcknowledgeAnnouncement', 'AcknowledgeAnnouncement', 'MyAnnouncements'])
  })

  it('one that expired meanwhile stops blocking, with the server message', async () => {
    fakeServer({
      MyAnnouncements: () => ({ data: { announcements: [] } }),
      AcknowledgeAnnouncement: () => ({ errors: [{ message: '公告已过期', extensions: { code: 'BAD_USER_INPUT', field: 'id' } }] }),
    })
    const s = useAnnouncements()
    s.pending = [a('4')]
    await expect(s.acknowledge('4')).rejects.toThrow('公告已过期')
    expect(s.current).toBeNull()
    expect(s.error?.message).toBe('公告已过期')
  })

  it('a refresh asked for while one runs makes one more, not many', async () => {
    let n = 0
    const calls = fakeServer({ MyAnnouncements: () => ({ data: { announcements: [a(String(++n))] } }) })
    const s = useAnnouncements()
    await Promise.all([s.refresh(), s.refresh(), s.refresh()])
    expect(calls).toHaveLength(2)
    expect(s.current?.id).toBe('2')
  })
})
