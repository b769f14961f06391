import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { flushPromises, mount } from '@vue/test-utils'
import AnnouncementModal from './AnnouncementModal.vue'
import { useAnnouncements } from '../stores/announcements'
import type { Announcement } from '../graphql/announce'
import { fakeServer } from '../test/server'

const a = (id: string, title: string): Announcement => ({
  id,
  title,
  body: '请按时参加。',
  level: 'urgent',
  publisher: '班长',
  createdAt: '2026-12-02T10:00:00+08:00',
  expiresAt: null,
  acknowledgedAt: null,
})

const q = (sel: string) => document.body.querySelector(sel)

beforeEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
  setActivePinia(createPinia())
})

describe('the announcement modal', () => {
  it('is not shown while nothing waits', async () => {
    const w = mount(AnnouncementModal, { attachTo: document.body })
    await flushPromises()
    expect(q('[data-test=announcement-title]')).toBeNull()
    w.unmount()
  })

  it('shows the first waiting one, and 我已阅读 brings the next until none is left', async () => {
    const calls = fakeServer({
      AcknowledgeAnnouncement: (v) => ({ data: { acknowledgeAnnouncement: { ...a(String(v.id), ''), acknowledgedAt: '2026-12-02T10:01:00+08:00' } } }),
      MyAnnouncements: () => ({ data: { announcements: [] } }),
      Notices: () => ({ data: { unreadNotices: 0, notices: { edges: [], pageInfo: { endCursor: null, hasNextPage: false } } } }),
    })
    const store = useAnnouncements()
    store.pending = [a('2', '周五培训'), a('1', '系统升级')]
    const w = mount(AnnouncementModal, { attachTo: document.body })
    await flushPromises()
    expect(q('[data-test=announcement-title]')?.textContent).toBe('周五培训')
    expect(document.body.textContent).toContain('还有 1 条待阅读')
    ;(q('[data-test=announcement-ack]') as HTMLElement).click()
    await flushPromises()
    expect(q('[data-test=announcement-title]')?.textContent).toBe('系统升级')
    ;(q('[data-test=announcement-ack]') as HTMLElement).click()
    await flushPromises()
    expect(store.current).toBeNull()
    expect(calls.filter((c) => c.op === 'AcknowledgeAnnouncement').map((c) => c.variables.id)).toEqual(['2', '1'])
    // The bell is reloaded: the server read the notices that brought them.
    expect(calls.some((c) => c.op === 'Notices')).toBe(true)
    w.unmount()
  })
})
