import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { debounceMs, fragmentParts, useKnowledgeSearch } from './search'
import { fakeServer } from '../test/server'

const result = (ids: string[], facets = [{ field: 'topic', label: '主题', value: '医保', count: ids.length }]) => ({
  data: {
    searchKnowledge: {
      totalCount: ids.length,
      endCursor: null,
      facets,
      hits: ids.map((id) => ({ score: 1, highlights: [], article: { id, title: '知识' + id, version: 1, keywords: [], unit: 'u', publishedAt: '', clicks: 0, rating: 0, ratings: 0 } })),
    },
  },
})

beforeEach(() => {
  vi.unstubAllGlobals()
  vi.useFakeTimers()
})
afterEach(() => vi.useRealTimers())

async function settle() {
  await vi.advanceTimersByTimeAsync(debounceMs + 1)
  await vi.runAllTimersAsync()
}

describe('knowledge search', () => {
  it('waits for two characters and for the typing to pause, then searches once', async () => {
    const calls = fakeServer({ SearchKnowledge: () => result(['1']) })
    const s = useKnowledgeSearch()
    s.query.value = '医'
    await nextTick()
    await settle()
    expect(calls.filter((c) => c.op === 'SearchKnowledge')).toHaveLength(0)
    s.query.value = '医保'
    await nextTick()
    s.query.value = '医保卡'
    await nextTick()
    await settle()
    const searches = calls.filter((c) => c.op === 'SearchKnowledge')
    expect(searches).toHaveLength(1)
    expect(searches[0].variables.query).toBe('医保卡')
    expect(s.hits.value.map((h) => h.article.id)).toEqual(['1'])
  })

  it('sends the picked facet values and groups the counts by field', async () => {
    const calls = fakeServer({
      SearchKnowledge: () =>
        result(['2'], [
          { field: 'topic', label: '主题', value: '医保', count: 3 },
          { field: 'topic', label: '主题', value: '社保', count: 1 },
          { field: 'kind', label: '类别', value: '办事指南', count: 2 },
        ]),
    })
    const s = useKnowledgeSearch()
    s.fieldLabels.value = { topic: '业务分类' }
    s.toggle('topic', '医保')
    await vi.runAllTimersAsync()
    expect(calls.at(-1)?.variables.filter).toEqual({ facets: { topic: ['医保'] } })
    expect(s.groups.value.map((g) => [g.label, g.values.length])).toEqual([['业务分类', 2], ['kind', 1]])
    expect(s.isPicked('topic', '医保')).toBe(true)
    s.toggle('topic', '医保')
    await vi.runAllTimersAsync()
    // Nothing picked and no words: no search, nothing shown.
    expect(s.active.value).toBe(false)
    expect(s.hits.value).toEqual([])
  })
})

describe('highlight fragments', () => {
  it('marks the matches and shows escaped markup as text', () => {
    expect(fragmentParts('办理&lt;b&gt;<mark>医保</mark>卡')).toEqual([
      { text: '办理<b>', mark: false },
      { text: '医保', mark: true },
      { text: '卡', mark: false },
    ])
  })
})
