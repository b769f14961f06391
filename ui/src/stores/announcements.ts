// The announcements (公告) the signed-in user has still to acknowledge:
// the first of them blocks the workstation in a modal until 我已阅读.
// Loaded at sign-in and again whenever a notice arrives (an announcement
// comes as a notice through the outbox), so one published while the user
// works appears at once.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { request, type GqlError } from '../graphql/client'
import { ACKNOWLEDGE_ANNOUNCEMENT, MY_ANNOUNCEMENTS, type Announcement } from '../graphql/announce'

// How many unacknowledged ones are fetched at a time; the next come after
// these are acknowledged.
export const batch = 20

export const useAnnouncements = defineStore('announcements', () => {
  const pending = ref<Announcement[]>([])
  const error = ref<GqlError | null>(null)
  const acknowledging = ref(false)
  const current = computed(() => pending.value[0] ?? null)
  let loading: Promise<void> | null = null
  let again = false

  // refresh reloads the list; calls while one is in flight make one more
  // afterwards rather than many at once.
  async function refresh(): Promise<void> {
    if (loading) {
      again = true
      return loading
    }
    loading = (async () => {
      try {
        do {
          again = false
          const r = await request(MY_ANNOUNCEMENTS, { unacknowledged: true, first: batch })
          pending.value = r.announcements.filter((a) => !a.acknowledgedAt)
          error.value = null
        } while (again)
      } finally {
        loading = null
      }
    })()
    return loading
  }

  async function acknowledge(id: string) {
    acknowledging.value = true
    try {
      await request(ACKNOWLEDGE_ANNOUNCEMENT, { id })
      pending.value = pending.value.filter((a) => a.id !== id)
      error.value = null
      if (pending.value.length === 0) await refresh()
    } catch (e) {
      error.value = e as GqlError
      // Expired or withdrawn meanwhile: it no longer blocks the user.
      if (error.value.code === 'NOT_FOUND' || error.value.code === 'BAD_USER_INPUT') {
        pending.value = pending.value.filter((a) => a.id !== id)
        await refresh().catch(() => {})
        error.value = e as GqlError
      }
      throw e
    } finally {
      acknowledging.value = false
    }
  }

  function clear() {
    pending.value = []
    error.value = null
  }

  return { pending, current, error, acknowledging, refresh, acknowledge, clear }
})
