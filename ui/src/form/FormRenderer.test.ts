import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { flushPromises, mount } from '@vue/test-utils'
import FormRenderer from './FormRenderer.vue'
import type { FormDef } from '../graphql/forms'
import { field } from '../test/fixtures'
import { fakeServer } from '../test/server'

const opts = (...vs: string[]) => vs.map((v) => ({ value: v, label: v + '项', children: [] }))

const form: FormDef = {
  name: 'sample',
  label: '示例',
  help: null,
  freeFields: false,
  summary: null,
  callField: null,
  fields: [
    field('title', 'text', { required: true, max: 20, help: '一句话说清' }),
    field('content', 'longtext'),
    field('days', 'number', { integer: true, min: 1, max: 30 }),
    field('secret', 'boolean'),
    field('kind', 'choice', { options: opts('a', 'b') }),
    field('many', 'choice', { options: opts('a', 'b', 'c', 'd', 'e', 'f') }),
    field('tags', 'multichoice', { options: opts('x', 'y') }),
    field('unit', 'unit'),
    field('person', 'person'),
    field('on', 'date'),
    field('at', 'datetime'),
    field('phone', 'phone'),
    field('idno', 'idcard'),
    field('where', 'address', { levels: [{ key: 'district', label: '区县' }, { key: 'street', label: '街道' }] }),
    field('point', 'location'),
    field('category', 'tree', { leafOnly: true, options: [{ value: '01', label: '城建', children: opts('0101') }] }),
    field('files', 'attachment', { multiple: true }),
    field('body', 'richtext'),
    field('summary', 'text', { computed: true }),
    field('company', 'text', { conditional: true }),
  ],
}

const districts = { data: { addressOptions: [{ code: '150105', name: '赛罕区' }] } }
const streets = { data: { addressOptions: [{ code: '150105001', name: '大学东街街道' }] } }

beforeEach(() => {
  fakeServer({ AddressOptions: (v) => (v.parent ? streets : districts) })
})
afterEach(() => vi.unstubAllGlobals())

// render mounts the form, or only the fields a test looks at: each
// Element Plus widget costs happy-dom time, and twenty of them per test
// were most of the suite's.
function render(props: Record<string, unknown> = {}, ...only: string[]) {
  const shown = only.length ? { ...form, fields: form.fields.filter((f) => only.includes(f.name)) } : form
  return mount(FormRenderer, { props: { form: shown, modelValue: {}, ...props }, attachTo: document.body })
}

// done lets the widgets' pending layout work (a textarea's autosize) run
// before they are unmounted.
async function done(w: ReturnType<typeof render>) {
  await flushPromises()
  await new Promise((r) => setTimeout(r, 0))
  w.unmount()
}

function last(w: ReturnType<typeof render>): Record<string, unknown> {
  const all = w.emitted('update:modelValue') ?? []
  return all[all.length - 1]![0] as Record<string, unknown>
}

// Mounting twenty Element Plus widgets in happy-dom takes seconds, and
// most of a minute on a loaded machine.
describe('FormRenderer', { timeout: 120_000 }, () => {
  it('renders a widget for every field type, labelled as the form says', async () => {
    const w = render()
    for (const f of form.fields) {
      const item = w.find(`[data-test="field-${f.name}"]`)
      expect(item.exists(), f.name).toBe(true)
      expect(item.text()).toContain(f.label)
      expect(item.attributes('data-type')).toBe(f.type)
    }
    expect(w.find('[data-test="field-title"]').text()).toContain('一句话说清')
    // Few options are radio buttons, many a searchable list.
    expect(w.findAll('[data-test="field-kind"] input[type="radio"]')).toHaveLength(2)
    expect(w.find('[data-test="field-many"] .el-select').exists()).toBe(true)
    expect(w.find('[data-test="field-body"] [contenteditable="true"]').exists()).toBe(true)
    await done(w)
  })

  it('emits the whole value set with the changed field, and drops emptied ones', async () => {
    const w = render({ modelValue: { content: '旧' } }, 'title', 'content', 'phone', 'kind', 'tags', 'secret')
    await w.find('[data-test="field-title"] input').setValue('暖气不热')
    expect(last(w)).toEqual({ content: '旧', title: '暖气不热' })
    await w.find('[data-test="field-content"] textarea').setValue('')
    expect(last(w)).toEqual({})
    await w.find('[data-test="field-phone"] input').setValue('13804711234')
    expect(last(w)).toEqual({ content: '旧', phone: '13804711234' })
    await w.find('[data-test="field-kind"] input[type="radio"]').setValue(true)
    expect(last(w)).toEqual({ content: '旧', kind: 'a' })
    await w.find('[data-test="field-tags"] input[type="checkbox"]').setValue(true)
    expect(last(w)).toEqual({ content: '旧', tags: ['x'] })
    await w.find('[data-test="field-secret"] .el-switch').trigger('click')
    expect(last(w)).toEqual({ content: '旧', secret: true })
    await done(w)
  })

  it('emits typed values from the pickers (number, date, tree, unit, location)', async () => {
    const w = render({}, 'days', 'on', 'at', 'category', 'unit', 'person', 'point')
    const inner = (name: string, component: string) => w.find(`[data-test="field-${name}"]`).findComponent({ name: component })
    inner('days', 'ElInputNumber').vm.$emit('update:modelValue', 5)
    expect(last(w)).toEqual({ days: 5 })
    inner('on', 'ElDatePicker').vm.$emit('update:modelValue', '2026-12-02')
    expect(last(w)).toEqual({ on: '2026-12-02' })
    inner('at', 'ElDatePicker').vm.$emit('update:modelValue', '2026-12-02T09:30:00+08:00')
    expect(last(w)).toEqual({ at: '2026-12-02T09:30:00+08:00' })
    inner('category', 'ElCascader').vm.$emit('update:modelValue', '0101')
    expect(last(w)).toEqual({ category: '0101' })
    inner('unit', 'ElSelect').vm.$emit('update:modelValue', '150105')
    expect(last(w)).toEqual({ unit: '150105' })
    inner('person', 'ElSelect').vm.$emit('update:modelValue', 'someone')
    expect(last(w)).toEqual({ person: 'someone' })
    await w.find('[data-test="field-point"] [data-test="lng"]').findComponent({ name: 'ElInputNumber' }).vm.$emit('update:modelValue', 111.7)
    expect(last(w)).toEqual({ point: { lng: 111.7 } })
    await done(w)
  })

  it('picks an address level by level from the server and clears the levels below a change', async () => {
    const calls = fakeServer({ AddressOptions: (v) => (v.parent ? streets : districts) })
    const w = render({}, 'where')
    await flushPromises()
    expect(calls).toEqual([{ op: 'AddressOptions', variables: { form: 'sample', field: 'where', level: 'district', parent: null } }])
    const levels = w.find('[data-test="field-where"]').findAllComponents({ name: 'ElSelect' })
    levels[0]!.vm.$emit('update:modelValue', '150105')
    expect(last(w)).toEqual({ where: { district: '150105' } })
    await flushPromises()
    expect(calls[1]).toEqual({ op: 'AddressOptions', variables: { form: 'sample', field: 'where', level: 'street', parent: '150105' } })
    await w.setProps({ modelValue: { where: { district: '150105', street: '150105001', detail: '1号' } } })
    levels[0]!.vm.$emit('update:modelValue', undefined)
    expect(last(w)).toEqual({ where: { detail: '1号' } })
    // Element Plus puts attributes on the native input.
    await w.find('[data-test="field-where"] input[data-test="detail"]').setValue('')
    expect(last(w)).toEqual({ where: { district: '150105', street: '150105001' } })
    await done(w)
  })

  it('puts server errors next to the fields they name and leaves hidden fields out', async () => {
    const w = render({ errors: { phone: '不是有效的手机号或固定电话', where: '选了街道须同时选区县' }, hidden: ['company'] }, 'title', 'phone', 'where', 'company')
    expect(w.find('[data-test="field-phone"] [data-test="error"]').text()).toBe('不是有效的手机号或固定电话')
    expect(w.find('[data-test="field-where"] [data-test="error"]').text()).toBe('选了街道须同时选区县')
    await nextTick()
    expect(w.find('[data-test="field-phone"]').classes()).toContain('is-error')
    expect(w.find('[data-test="field-title"] [data-test="error"]').exists()).toBe(false)
    expect(w.find('[data-test="field-company"]').exists()).toBe(false)
    await done(w)
  })

  it('shows computed values read-only and marks required fields', async () => {
    const w = render({ computedValues: { summary: '暖气不热（个人）' }, required: ['content'] }, 'summary', 'title', 'content', 'days')
    expect(w.find('[data-test="field-summary"] [data-test="computed"]').text()).toBe('暖气不热（个人）')
    expect(w.find('[data-test="field-summary"] input').exists()).toBe(false)
    expect(w.find('[data-test="field-title"]').classes()).toContain('is-required')
    expect(w.find('[data-test="field-content"]').classes()).toContain('is-required')
    expect(w.find('[data-test="field-days"]').classes()).not.toContain('is-required')
    await done(w)
  })

  it('disables every widget when disabled', async () => {
    const w = render({ disabled: true }, 'title', 'content', 'body')
    expect(w.find('[data-test="field-title"] input').attributes('disabled')).toBeDefined()
    expect(w.find('[data-test="field-content"] textarea').attributes('disabled')).toBeDefined()
    expect(w.find('[data-test="field-body"] [contenteditable="false"]').exists()).toBe(true)
    await done(w)
  })
})
