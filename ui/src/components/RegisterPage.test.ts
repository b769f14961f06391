import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import RegisterPage from './RegisterPage.vue'
import { draftKey } from '../form/draft'
import type { FormFieldDef } from '../graphql/forms'
import { useSession } from '../stores/session'
import { fakeServer } from '../test/server'

function field(name: string, type: string, extra: Partial<FormFieldDef> = {}): FormFieldDef {
  return {
    name, label: name.toUpperCase(), type, required: false, multiple: false, leafOnly: false, integer: false, min: null, max: null,
    default: null, computed: false, conditional: false, placeholder: null, help: null, caller: null, search: false, facet: false, options: [], levels: [],
    ...extra,
  }
}

const form = {
  name: 'intake',
  label: '登记表',
  help: null,
  freeFields: false,
  summary: 'title',
  callField: 'call_ref',
  fields: [
    field('who_phone', 'phone', { caller: 'phone' }),
    field('title', 'text', { required: true, search: true }),
    field('kind', 'choice', { default: 'a', options: [{ value: 'a', label: 'A', children: [] }] }),
    field('call_ref', 'text'),
  ],
}
const entry = { name: 'reg', label: '登记工单', page: 'register', flow: 'f', state: null, due: null, form: 'intake', columns: [] }
const actions = [
  { name: 'go', label: '登记', draft: false, required: ['title'] },
  { name: 'keep', label: '暂存', draft: true, required: [] },
]

function answers(create: (v: Record<string, unknown>) => unknown) {
  return fakeServer({
    Form: () => ({ data: { form } }),
    RegisterActions: () => ({ data: { myWorkbench: [{ name: 'desk', menu: [{ name: 'reg', actions }] }] } }),
    CheckForm: () => ({ data: { checkForm: { valid: true, errors: [], hidden: [], values: {} } } }),
    SimilarTickets: () => ({ data: { similarTickets: [] } }),
    InTransit: () => ({ data: { inTransit: [] } }),
    CreateTicket: create,
  })
}

async function render(path = '/w/desk/reg') {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/w/:bench/:entry', component: { template: '<div />' } },
      { path: '/t/:id', component: { template: '<div />' } },
    ],
  })
  await router.push(path)
  const w = mount(RegisterPage, { props: { bench: 'desk', entry }, global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return { w, router }
}

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  const s = useSession()
  s.me = { id: '1', username: 'agent', displayName: '话务员', roles: [], scope: 'all', mustChangePassword: false, unit: { id: '1', name: '中心' } }
})
afterEach(() => vi.unstubAllGlobals())

describe('RegisterPage', { timeout: 120_000 }, () => {
  it('offers the actions the server gives, with the form pre-filled from the call', async () => {
    answers(() => ({}))
    const { w } = await render('/w/desk/reg?caller=13904710017&call=sip-1')
    expect(w.find('[data-test="action-go"]').text()).toContain('登记')
    expect(w.find('[data-test="action-draft"]').text()).toContain('暂存')
    expect((w.find('[data-test="field-who_phone"] input').element as HTMLInputElement).value).toBe('13904710017')
    expect((w.find('[data-test="field-call_ref"] input').element as HTMLInputElement).value).toBe('sip-1')
    expect(w.find('[data-test="restored"]').exists()).toBe(false)
    w.unmount()
  })

  it("shows the caller's open tickets and similar ones only for a form that names a caller", async () => {
    answers(() => ({}))
    const { w } = await render()
    expect(w.find('[data-test="in-transit"]').exists()).toBe(true)
    expect(w.find('[data-test="similar"]').exists()).toBe(true)
    w.unmount()
    const calls = fakeServer({
      Form: () => ({ data: { form: { ...form, fields: form.fields.filter((f) => !f.caller) } } }),
      RegisterActions: () => ({ data: { myWorkbench: [{ name: 'desk', menu: [{ name: 'reg', actions }] }] } }),
      CheckForm: () => ({ data: { checkForm: { valid: true, errors: [], hidden: [], values: {} } } }),
    })
    const { w: article } = await render()
    await article.find('[data-test="field-title"] input').setValue('供暖收费标准说明')
    await new Promise((r) => setTimeout(r, 700)) // past the hints' debounce
    expect(article.find('[data-test="in-transit"]').exists()).toBe(false)
    expect(article.find('[data-test="similar"]').exists()).toBe(false)
    expect(calls.map((c) => c.op)).not.toContain('SimilarTickets')
    article.unmount()
  })

  it('restores the draft kept in the browser', async () => {
    answers(() => ({}))
    localStorage.setItem(draftKey('agent', 'desk', 'reg'), JSON.stringify({ values: { title: '暖气不热' }, savedAt: '2026-12-02T09:30:05' }))
    const { w } = await render()
    expect((w.find('[data-test="field-title"] input').element as HTMLInputElement).value).toBe('暖气不热')
    expect(w.find('[data-test="restored"]').text()).toContain('2026-12-02 09:30:05')
    w.unmount()
  })

  it("puts a refused submit's problems next to their fields and keeps what was typed", async () => {
    const calls = answers(() => ({
      errors: [{ message: '标题: 必填', extensions: { code: 'BAD_USER_INPUT', field: 'input.title', errors: [{ field: 'input.title', label: '标题', message: '必填' }] } }],
    }))
    const { w, router } = await render()
    await w.find('[data-test="field-who_phone"] input').setValue('13904710017')
    await w.find('[data-test="action-go"]').trigger('click')
    await flushPromises()
    expect(calls.find((c) => c.op === 'CreateTicket')?.variables).toEqual({ form: 'intake', input: { kind: 'a', who_phone: '13904710017' }, action: 'go', draft: false })
    expect(w.find('[data-test="field-title"] [data-test="error"]').text()).toBe('必填')
    expect(w.find('[data-test="failure"]').text()).toContain('请按提示修改')
    expect(router.currentRoute.value.path).toBe('/w/desk/reg')
    expect(localStorage.getItem(draftKey('agent', 'desk', 'reg'))).toContain('13904710017')
    // Typing in the field takes its error away.
    await w.find('[data-test="field-title"] input').setValue('暖气不热')
    expect(w.find('[data-test="field-title"] [data-test="error"]').exists()).toBe(false)
    w.unmount()
  })

  it('opens the new ticket after registering, and forgets the draft', async () => {
    answers(() => ({ data: { createTicket: { id: '42', number: '2026120200042', stateLabel: '初审' } } }))
    const { w, router } = await render()
    await w.find('[data-test="field-title"] input').setValue('暖气不热')
    await w.find('[data-test="action-go"]').trigger('click')
    await flushPromises()
    expect(router.currentRoute.value.path).toBe('/t/42')
    expect(localStorage.getItem(draftKey('agent', 'desk', 'reg'))).toBeNull()
    w.unmount()
  })
})
