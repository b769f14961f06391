// Drafts kept in the browser: what a user typed into a form is written to
// localStorage as they type, so a reload, a crash or a lost connection
// loses nothing; a draft is the user's own (the key names them) and goes
// when the form is sent.
import { ref, watch, type Ref } from 'vue'

export interface StoredDraft {
  values: Record<string, unknown>
  // savedAt is the browser's local time, 2026-12-02T09:30:05.
  savedAt: string
}

export function localStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

// draftKey is where one user's draft of one page (and call) is kept.
export function draftKey(user: string, ...parts: string[]): string {
  return ['hotline.draft', user, ...parts.filter(Boolean)].join('/')
}

export function readDraft(key: string): StoredDraft | null {
  try {
    const raw = localStorage.getItem(key)
    if (!raw) return null
    const d = JSON.parse(raw) as StoredDraft
    return d && typeof d.values === 'object' && d.values !== null ? d : null
  } catch {
    return null
  }
}

// useLocalDraft saves values under key whenever they change; a form as
// it started (pristine: empty, or only its defaults and pre-filled
// values) removes the draft instead. restore() returns what was saved.
export function useLocalDraft(key: Ref<string>, values: Ref<Record<string, unknown>>, pristine: () => Record<string, unknown> = () => ({})) {
  const savedAt = ref<string | null>(readDraft(key.value)?.savedAt ?? null)
  let paused = false

  function save() {
    if (paused || !key.value) return
    if (Object.keys(values.value).length === 0 || same(values.value, pristine())) {
      localStorage.removeItem(key.value)
      savedAt.value = null
      return
    }
    const d: StoredDraft = { values: values.value, savedAt: localStamp(new Date()) }
    try {
      localStorage.setItem(key.value, JSON.stringify(d))
      savedAt.value = d.savedAt
    } catch {
      // Storage full or refused: the form still works, unsaved.
    }
  }

  function restore(): StoredDraft | null {
    const d = readDraft(key.value)
    savedAt.value = d?.savedAt ?? null
    return d
  }

  // clear forgets the draft; values set in the same tick are not saved.
  function clear() {
    localStorage.removeItem(key.value)
    savedAt.value = null
    paused = true
    setTimeout(() => (paused = false))
  }

  watch(values, save, { deep: true })
  return { savedAt, restore, clear, save }
}

function same(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]))
}
