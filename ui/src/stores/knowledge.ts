// The knowledge base's settings (knowledgeBase: its label, rating form,
// article forms, correction) and the article forms, asked once per
// session and shared by the search, the side panel and the article page.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { request } from '../graphql/client'
import { FORM, type FormDef } from '../graphql/forms'
import { KNOWLEDGE_BASE, type KnowledgeBase } from '../graphql/knowledge'

// Field types whose value is an article's text, read in the side panel:
// its rich text, or where a form has none its long text (a form with
// both has a summary beside the body, which would say things twice).
const textTypes = ['richtext', 'longtext']

export const useKnowledgeBase = defineStore('knowledge-base', () => {
  const base = ref<KnowledgeBase | null>(null)
  const forms = ref<FormDef[]>([])
  let pending: Promise<void> | null = null
  // gen counts clears: an answer asked for before one (the last user's)
  // is dropped.
  let gen = 0

  // load asks once; a failed load is asked again by the next caller.
  function load(): Promise<void> {
    const my = gen
    pending ??= (async () => {
      const b = (await request(KNOWLEDGE_BASE)).knowledgeBase
      const fs = await Promise.all(b.articleForms.map((name) => request(FORM, { name }).then((r) => r.form)))
      if (my !== gen) return
      base.value = b
      forms.value = fs
    })().catch((e) => {
      if (my === gen) pending = null
      throw e
    })
    return pending
  }

  function clear() {
    gen++
    pending = null
    base.value = null
    forms.value = []
  }

  // articleForm is the form articles are written in (the first listed).
  const articleForm = computed(() => forms.value[0] ?? null)
  // labels names the article forms' fields (facet groups), first form first.
  const labels = computed(() => {
    const out: Record<string, string> = {}
    for (const f of forms.value) for (const fl of f.fields) out[fl.name] ??= fl.label
    return out
  })
  // textFields are the fields holding an article's text.
  const textFields = computed(() => {
    const of = (type: string) => forms.value.flatMap((f) => f.fields.filter((fl) => fl.type === type).map((fl) => fl.name))
    const found = textTypes.map(of).find((names) => names.length > 0) ?? []
    return [...new Set(found)]
  })

  return { base, forms, articleForm, labels, textFields, load, clear }
})
