// useKnowledgeSearch is the state of one knowledge search: the words, the
// facet values picked, the sort, the hits so far and the suggestions for
// the words being typed. Searching starts at two characters (the server's
// rule for Chinese words), debounced while typing; a later search wins
// over an earlier answer still on its way.
import { computed, reactive, ref, watch } from 'vue'
import { messageOf, request } from '../graphql/client'
import { SEARCH_KNOWLEDGE, SUGGEST_KNOWLEDGE, type FacetCount, type Hit, type KnowledgeSort, type Suggestion } from '../graphql/knowledge'

export const minChars = 2
export const debounceMs = 300
const pageSize = 20

export function useKnowledgeSearch() {
  const query = ref('')
  const sort = ref<KnowledgeSort | null>(null)
  // picked holds the facet values chosen, by facet field.
  const picked = reactive<Record<string, string[]>>({})
  const hits = ref<Hit[]>([])
  const facets = ref<FacetCount[]>([])
  const total = ref(0)
  const cursor = ref<string | null>(null)
  const loading = ref(false)
  const error = ref('')
  const searched = ref(false)
  let seq = 0

  const active = computed(() => query.value.trim().length >= minChars || Object.values(picked).some((v) => v.length > 0))
  // fieldLabels names the facet fields (the article form's labels); a
  // facet count's own label names its value.
  const fieldLabels = ref<Record<string, string>>({})
  // Facets grouped by field, in the server's order.
  const groups = computed(() => {
    const out: { field: string; label: string; values: FacetCount[] }[] = []
    for (const f of facets.value) {
      let g = out.find((x) => x.field === f.field)
      if (!g) out.push((g = { field: f.field, label: fieldLabels.value[f.field] ?? f.field, values: [] }))
      g.values.push(f)
    }
    return out
  })

  function filter() {
    const f: Record<string, string[]> = {}
    for (const [k, v] of Object.entries(picked)) if (v.length) f[k] = [...v]
    return Object.keys(f).length ? { facets: f } : undefined
  }

  async function search(more = false) {
    if (!active.value) {
      hits.value = []
      facets.value = []
      total.value = 0
      searched.value = false
      return
    }
    const mine = ++seq
    loading.value = true
    error.value = ''
    try {
      const r = await request(SEARCH_KNOWLEDGE, {
        query: query.value.trim(),
        filter: filter(),
        sort: sort.value,
        first: pageSize,
        after: more ? cursor.value : null,
      })
      if (mine !== seq) return
      const s = r.searchKnowledge
      hits.value = more ? [...hits.value, ...s.hits] : s.hits
      facets.value = s.facets
      total.value = s.totalCount
      cursor.value = s.endCursor
      searched.value = true
    } catch (e) {
      if (mine === seq) error.value = messageOf(e)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined
  watch(query, () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      search()
    }, debounceMs)
  })
  watch(sort, () => search())

  function toggle(field: string, value: string) {
    const list = picked[field] ?? (picked[field] = [])
    const i = list.indexOf(value)
    if (i >= 0) list.splice(i, 1)
    else list.push(value)
    search()
  }

  function isPicked(field: string, value: string) {
    return picked[field]?.includes(value) ?? false
  }

  function clearFacets() {
    for (const k of Object.keys(picked)) delete picked[k]
    search()
  }

  return {
    query,
    sort,
    picked,
    fieldLabels,
    hits,
    groups,
    total,
    cursor,
    loading,
    error,
    searched,
    active,
    search,
    toggle,
    isPicked,
    clearFacets,
  }
}

// suggestFor answers the keywords and titles starting with (then holding)
// what is typed; none below two characters. Suggestions are a help: a
// failure gives none and the search itself shows the error.
export async function suggestFor(prefix: string): Promise<Suggestion[]> {
  if (prefix.trim().length < minChars) return []
  try {
    return (await request(SUGGEST_KNOWLEDGE, { prefix: prefix.trim(), first: 8 })).suggestKnowledge
  } catch {
    return []
  }
}

// fragmentParts splits a highlight fragment (text escaped by the server,
// matches in <mark>) into text parts, so it is shown without v-html.
export function fragmentParts(fragment: string): { text: string; mark: boolean }[] {
  const out: { text: string; mark: boolean }[] = []
  let mark = false
  for (const piece of fragment.split(/(<\/?mark>)/)) {
    if (piece === '<mark>') mark = true
    else if (piece === '</mark>') mark = false
    else if (piece) out.push({ text: unescape(piece), mark })
  }
  return out
}

function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|#39|#34);/g, (_, e) => ({ lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'", '#34': '"' })[e as string] ?? _)
}
