import { afterEach, describe, expect, it, vi } from 'vitest'
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils'
import ActionBar from './ActionBar.vue'
import { field, formOf, ticketOf } from '../test/fixtures'
import type { TicketDetail } from '../graphql/ticket'
import { fakeServer } from '../test/server'

function ticket(extra: Partial<TicketDetail> = {}): TicketDetail {
  return ticketOf({
    id: '7',
    number: '20261202000007',
    stateLabel: '待办',
    version: 3,
    availableActions: [
      { name: 'go', label: '办理', form: 'note', required: ['text'], choices: {}, refusal: null },
      { name: 'back', label: '退回', form: null, required: [], choices: {}, refusal: '已退回两次，不能再退回' },
    ],
    ...extra,
  })
}

const note = formOf('note', [field('text', 'longtext', { label: '意见' })])

const ok = { checkForm: { valid: true, errors: [], hidden: [], values: {} } }

// Each test's bar is unmounted after it, so its form's pending check
// (debounced) goes nowhere: test files share globals (isolate: false).
enableAutoUnmount(afterEach)
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('ActionBar', () => {
  it('shows a refused action disabled, with the flow’s reason', () => {
    fakeServer({})
    const w = mount(ActionBar, { props: { ticket: ticket(), reload: async () => null } })
    const refused = w.find('[data-test=action-back]')
    expect(refused.attributes('data-reason')).toBe('已退回两次，不能再退回')
    expect(refused.find('button').attributes('disabled')).toBeDefined()
    const open = w.find('button[data-test=action-go]')
    expect(open.attributes('disabled')).toBeUndefined()
  })

  it('on a conflict says what changed, reloads and keeps what was typed', async () => {
    let performed = 0
    const calls = fakeServer({
      Form: () => ({ data: { form: note } }),
      CheckForm: () => ({ data: ok }),
      PerformAction: () => {
        performed++
        return {
          data: null,
          errors: [{ message: '工单已被他人办理，请刷新后重试', extensions: { code: 'CONFLICT', version: 4 } }],
        }
      },
    })
    const moved = ticket({
      version: 4,
      stateLabel: '办理中',
      events: [{ action: 'sign', actionLabel: '签收', actor: 'li', at: '2026-12-02T18:05:00+08:00', form: null, fromState: 's1', toState: 's2', toStateLabel: '办理中', input: null, onTime: true, stepDue: null, unit: '甲单位' }],
    })
    const reload = vi.fn(async () => moved)
    const w = mount(ActionBar, { props: { ticket: ticket(), reload }, attachTo: document.body })
    await w.find('button[data-test=action-go]').trigger('click')
    await flushPromises()
    const area = document.querySelector('[data-test=field-text] textarea') as HTMLTextAreaElement
    expect(area).not.toBeNull()
    area.value = '已联系诉求人'
    area.dispatchEvent(new Event('input'))
    await flushPromises()
    ;(document.querySelector('[data-test=action-submit]') as HTMLButtonElement).click()
    await flushPromises()

    expect(performed).toBe(1)
    const sent = calls.find((c) => c.op === 'PerformAction')!.variables
    expect(sent).toMatchObject({ ticketId: '7', action: 'go', input: { text: '已联系诉求人' }, expectedVersion: 3 })
    expect(reload).toHaveBeenCalledOnce()
    const err = document.querySelector('[data-test=action-error]')!.textContent!
    expect(err).toContain('工单已被他人办理')
    expect(err).toContain('li 于 2026-12-02 18:05 执行了「签收」')
    expect(err).toContain('状态：待办 → 办理中')
    // The dialog stays, with what was typed.
    expect((document.querySelector('[data-test=field-text] textarea') as HTMLTextAreaElement).value).toBe('已联系诉求人')

    // The page passes the reloaded ticket down: the next try carries its version.
    await w.setProps({ ticket: { ...moved, availableActions: ticket().availableActions } })
    ;(document.querySelector('[data-test=action-submit]') as HTMLButtonElement).click()
    await flushPromises()
    expect(calls.filter((c) => c.op === 'PerformAction')[1].variables.expectedVersion).toBe(4)
  })

  it('puts the server’s field errors next to the fields', async () => {
    fakeServer({
      Form: () => ({ data: { form: note } }),
      CheckForm: () => ({ data: ok }),
      PerformAction: () => ({
        data: null,
        errors: [{ message: '意见: 必填', extensions: { code: 'BAD_USER_INPUT', errors: [{ field: 'input.text', label: '意见', message: '必填' }] } }],
      }),
    })
    const w = mount(ActionBar, { props: { ticket: ticket(), reload: async () => null }, attachTo: document.body })
    await w.find('button[data-test=action-go]').trigger('click')
    await flushPromises()
    ;(document.querySelector('[data-test=action-submit]') as HTMLButtonElement).click()
    await flushPromises()
    expect(document.querySelector('[data-test=field-text] [data-test=error]')!.textContent).toBe('必填')
  })

  it('shows a guard’s refusal as the flow words it', async () => {
    fakeServer({
      Form: () => ({ data: { form: note } }),
      CheckForm: () => ({ data: ok }),
      PerformAction: () => ({ data: null, errors: [{ message: '工单已锁定，不能申请退回', extensions: { code: 'FORBIDDEN' } }] }),
    })
    const w = mount(ActionBar, { props: { ticket: ticket(), reload: async () => null }, attachTo: document.body })
    await w.find('button[data-test=action-go]').trigger('click')
    await flushPromises()
    ;(document.querySelector('[data-test=action-submit]') as HTMLButtonElement).click()
    await flushPromises()
    expect(document.querySelector('[data-test=action-error]')!.textContent).toContain('工单已锁定，不能申请退回')
  })
})
