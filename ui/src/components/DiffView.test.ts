import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import DiffView, { classify } from './DiffView.vue'

describe('DiffView', () => {
  it('classifies each line of a unified diff', () => {
    const text = '--- a@1\n+++ a@2\n@@ -1,2 +1,2 @@\n keep\n-old\n+new'
    expect(classify(text).map((l) => l.kind)).toEqual(['head', 'head', 'hunk', 'same', 'del', 'add'])
  })

  it('renders markup in the text as text', () => {
    const w = mount(DiffView, { props: { text: '+<img src=x onerror=alert(1)>' } })
    expect(w.find('img').exists()).toBe(false)
    expect(w.find('.add').text()).toContain('<img')
  })
})
