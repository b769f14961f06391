// usePaged keeps one cursor-paged list: the rows so far, whether more
// follow, and the loading and error states every list page shows. fetch
// gets the cursor to start after (null for the first page) and answers a
// connection's nodes and pageInfo.
import { ref, type Ref } from 'vue'
import { messageOf } from './client'
import type { PageInfo } from './documents'

export interface Paged<T> {
  rows: Ref<T[]>
  more: Ref<boolean>
  loading: Ref<boolean>
  error: Ref<string>
  // load reads the first page again (reset) or appends the next one.
  load(reset?: boolean): Promise<void>
}

export function usePaged<T>(fetch: (after: string | null) => Promise<{ nodes: T[]; pageInfo: PageInfo }>): Paged<T> {
  const rows = ref<T[]>([]) as Ref<T[]>
  const cursor = ref<string | null>(null)
  const more = ref(false)
  const loading = ref(false)
  const error = ref('')
  // A later load wins over an earlier one still in flight (a filter typed
  // while the previous answer is on its way).
  let seq = 0

  async function load(reset = true) {
    const mine = ++seq
    loading.value = true
    error.value = ''
    try {
      const r = await fetch(reset ? null : cursor.value)
      if (mine !== seq) return
      rows.value = reset ? r.nodes : [...rows.value, ...r.nodes]
      cursor.value = r.pageInfo.endCursor
      more.value = r.pageInfo.hasNextPage
    } catch (e) {
      if (mine === seq) error.value = messageOf(e)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  return { rows, more, loading, error, load }
}
