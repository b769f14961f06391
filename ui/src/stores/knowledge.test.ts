import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useKnowledgeBase } from './knowledge'
import { field, formOf } from '../test/fixtures'
import { fakeServer } from '../test/server'

const base = { label: '知识库', ratingForm: null, articleForms: ['article'], correction: null }
const article = formOf('article', [field('title', 'text'), field('body', 'richtext'), field('note', 'longtext'), field('topic', 'tree')])

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => vi.unstubAllGlobals())

describe('knowledge base store', () => {
  it('asks the settings and the article forms once, however many ask', async () => {
    const calls = fakeServer({ KnowledgeBase: () => ({ data: { knowledgeBase: base } }), Form: () => ({ data: { form: article } }) })
    const kb = useKnowledgeBase()
    await Promise.all([kb.load(), kb.load()])
    await kb.load()
    expect(calls.map((c) => c.op)).toEqual(['KnowledgeBase', 'Form'])
    expect(kb.articleForm?.name).toBe('article')
    expect(kb.labels.body).toBe(article.fields[1]!.label)
    expect(kb.textFields).toEqual(['body'])
  })

  it('takes long text for the text of a form without rich text', async () => {
    fakeServer({ KnowledgeBase: () => ({ data: { knowledgeBase: base } }), Form: () => ({ data: { form: formOf('article', [field('note', 'longtext')]) } }) })
    const kb = useKnowledgeBase()
    await kb.load()
    expect(kb.textFields).toEqual(['note'])
  })

  it('asks again after a failure and after clear', async () => {
    let fail = true
    const calls = fakeServer({
      KnowledgeBase: () => (fail ? { errors: [{ message: '暂时不可用' }] } : { data: { knowledgeBase: base } }),
      Form: () => ({ data: { form: article } }),
    })
    const kb = useKnowledgeBase()
    await expect(kb.load()).rejects.toThrow()
    fail = false
    await kb.load()
    kb.clear()
    expect(kb.base).toBeNull()
    await kb.load()
    expect(calls.filter((c) => c.op === 'KnowledgeBase')).toHaveLength(3)
  })

  it("drops an answer asked for before a clear (the last user's)", async () => {
    // The article form's answer is held back until the user has signed out.
    let release: (() => void) | null = null
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_u: string, init: RequestInit) => {
        const op = /^(?:query|mutation)\s+(\w+)/.exec(JSON.parse(String(init.body)).query)?.[1]
        if (op === 'Form') await new Promise<void>((r) => (release = r))
        const data = op === 'Form' ? { form: article } : { knowledgeBase: base }
        return new Response(JSON.stringify({ data }), { headers: { 'Content-Type': 'application/json' } })
      }),
    )
    const kb = useKnowledgeBase()
    const first = kb.load()
    // Test files share globals (isolate: false), so this waits for the
    // form's request itself rather than counting calls.
    await vi.waitFor(() => expect(release).not.toBeNull())
    kb.clear()
    release!()
    await first
    expect(kb.base).toBeNull()
    expect(kb.forms).toEqual([])
  })
})
