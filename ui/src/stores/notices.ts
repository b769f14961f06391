// The notice centre: the unread count and the newest notices, kept live
// by the notices subscription, and marking them read.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { request, subscribe, type GqlError } from '../graphql/client'
import { MARK_NOTICES_READ, NOTICES, NOTICES_LIVE, type Notice } from '../graphql/documents'

// How many notices the bell keeps; the notices page pages through the rest.
export const keep = 20

export const useNotices = defineStore('notices', () => {
  const unread = ref(0)
  const items = ref<Notice[]>([])
  const error = ref<GqlError | null>(null)
  const listeners: ((n: Notice) => void)[] = []
  let stop: (() => void) | null = null

  async function refresh() {
    const r = await request(NOTICES, { first: keep })
    unread.value = r.unreadNotices
    items.value = r.notices.edges.map((e) => e.node)
  }

  // arrived takes a pushed notice (once: a reconnect may repeat one).
  function arrived(n: Notice) {
    if (items.value.some((x) => x.id === n.id)) return
    items.value = [n, ...items.value].slice(0, keep)
    if (!n.readAt) unread.value++
    for (const l of listeners) l(n)
  }

  // start subscribes (once) and loads the current state.
  async function start() {
    if (!stop) {
      stop = subscribe(NOTICES_LIVE, {}, (d) => arrived(d.notices), (e) => (error.value = e))
    }
    await refresh()
  }

  function end() {
    stop?.()
    stop = null
    unread.value = 0
    items.value = []
  }

  function onArrival(l: (n: Notice) => void) {
    listeners.push(l)
  }

  async function markRead(ids: string[]) {
    const open = ids.filter((id) => items.value.some((n) => n.id === id && !n.readAt))
    if (open.length === 0) return
    const r = await request(MARK_NOTICES_READ, { ids: open })
    const now = new Date().toISOString()
    items.value = items.value.map((n) => (open.includes(n.id) && !n.readAt ? { ...n, readAt: now } : n))
    unread.value = Math.max(0, unread.value - r.markNoticesRead)
  }

  async function markAllRead() {
    await request(MARK_NOTICES_READ, { all: true })
    const now = new Date().toISOString()
    items.value = items.value.map((n) => (n.readAt ? n : { ...n, readAt: now }))
    unread.value = 0
  }

  return { unread, items, error, refresh, arrived, start, end, onArrival, markRead, markAllRead }
})
