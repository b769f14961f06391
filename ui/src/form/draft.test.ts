import { beforeEach, describe, expect, it } from 'vitest'
import { nextTick, ref } from 'vue'
import { draftKey, readDraft, useLocalDraft } from './draft'

beforeEach(() => localStorage.clear())

describe('useLocalDraft', () => {
  it('keeps what is typed under the user and page, and gives it back after a reload', async () => {
    const key = ref(draftKey('agent', 'desk', 'register', ''))
    expect(key.value).toBe('hotline.draft/agent/desk/register')
    const values = ref<Record<string, unknown>>({ kind: 'a' })
    const d = useLocalDraft(key, values, () => ({ kind: 'a' }))
    await nextTick()
    expect(readDraft(key.value)).toBeNull()
    values.value = { kind: 'a', title: '暖气不热', where: { district: '150105' } }
    await nextTick()
    expect(d.savedAt.value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/)

    // A new page (the reload) finds it.
    const again = useLocalDraft(key, ref({}))
    expect(again.restore()?.values).toEqual({ kind: 'a', title: '暖气不热', where: { district: '150105' } })
    // Another user's page does not.
    expect(readDraft(draftKey('agent2', 'desk', 'register'))).toBeNull()
  })

  it('drops the draft when the form is back as it started, or cleared', async () => {
    const key = ref('k')
    const values = ref<Record<string, unknown>>({})
    const d = useLocalDraft(key, values, () => ({ kind: 'a' }))
    values.value = { kind: 'a', title: 'x' }
    await nextTick()
    expect(readDraft('k')).not.toBeNull()
    values.value = { kind: 'a' }
    await nextTick()
    expect(readDraft('k')).toBeNull()
    values.value = { title: 'y' }
    await nextTick()
    d.clear()
    values.value = { title: 'z' }
    await nextTick()
    expect(readDraft('k')).toBeNull()
    expect(d.savedAt.value).toBeNull()
  })

  it('ignores what is not a draft', () => {
    localStorage.setItem('k', '{not json')
    expect(readDraft('k')).toBeNull()
    localStorage.setItem('k', '{"values": null}')
    expect(readDraft('k')).toBeNull()
  })
})
