import { afterEach, describe, expect, it, vi } from 'vitest'
import { effectScope, nextTick, ref } from 'vue'
import { baseField, clean, debounceMs, fieldErrors, useFormCheck } from './check'

function server(answer: (vars: Record<string, unknown>) => unknown) {
  const calls: Record<string, unknown>[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_u: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      calls.push(body.variables)
      return new Response(JSON.stringify(answer(body.variables)), { headers: { 'Content-Type': 'application/json' } })
    }),
  )
  return calls
}

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('fieldErrors', () => {
  it('maps nested paths to the field they start with', () => {
    expect(baseField('input.address.street')).toBe('address')
    expect(baseField('attachments[2]')).toBe('attachments')
    expect(
      fieldErrors([
        { field: 'address.street', message: '地址中“x”不属于上一级所选单位' },
        { field: 'input.phone', message: '不是有效的手机号或固定电话' },
        { field: 'files[0]', message: '附件 a 不存在' },
        { field: 'files[1]', message: '附件 b 不存在' },
      ]),
    ).toEqual({ address: '地址中“x”不属于上一级所选单位', phone: '不是有效的手机号或固定电话', files: '附件 a 不存在；附件 b 不存在' })
  })

  it('cleans what was not entered', () => {
    expect(clean({ a: '', b: [], c: null, d: 0, e: false, f: 'x' })).toEqual({ d: 0, e: false, f: 'x' })
  })
})

describe('useFormCheck', () => {
  it('checks once typing pauses, and maps the answer to fields', async () => {
    vi.useFakeTimers()
    const calls = server((v) => {
      const input = v.input as Record<string, string>
      const bad = input.phone === '138'
      return {
        data: {
          checkForm: {
            valid: !bad,
            errors: bad ? [{ field: 'phone', label: '电话', message: '不是有效的手机号或固定电话' }] : [],
            hidden: ['company'],
            values: bad ? null : { ...input, summary: 's' },
          },
        },
      }
    })
    const values = ref<Record<string, unknown>>({})
    const c = useFormCheck('sample', values, { partial: true })
    values.value = { phone: '1' }
    await nextTick()
    values.value = { phone: '13' }
    await nextTick()
    values.value = { phone: '138', title: '' }
    await nextTick()
    await vi.advanceTimersByTimeAsync(debounceMs - 10)
    expect(calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(20)
    await vi.runAllTimersAsync()
    expect(calls).toEqual([{ name: 'sample', input: { phone: '138' }, partial: true }])
    expect(c.errors).toEqual({ phone: '不是有效的手机号或固定电话' })
    expect(c.hidden).toEqual(['company'])
    expect(c.valid).toBe(false)
    expect(c.checking).toBe(false)

    values.value = { phone: '13804711234' }
    await nextTick()
    await vi.runAllTimersAsync()
    expect(c.errors).toEqual({})
    expect(c.valid).toBe(true)
    expect(c.values).toEqual({ phone: '13804711234', summary: 's' })
  })

  it('keeps the last answer when the network fails', async () => {
    let up = true
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => {
        if (!up) throw new TypeError('Failed to fetch')
        return new Response(JSON.stringify({ data: { checkForm: { valid: false, errors: [{ field: 'title', label: '标题', message: '必填' }], hidden: [], values: null } } }))
      }),
    )
    const c = useFormCheck(ref('sample'), ref({}))
    await c.check()
    expect(c.errors).toEqual({ title: '必填' })
    up = false
    await c.check()
    expect(c.errors).toEqual({ title: '必填' })
    expect(c.failure).toContain('网络')
  })

  it('asks nothing once the form is gone (its scope disposed) within the debounce', async () => {
    vi.useFakeTimers()
    const calls = server(() => ({ data: { checkForm: { valid: true, errors: [], hidden: [], values: {} } } }))
    const values = ref<Record<string, unknown>>({})
    const scope = effectScope()
    scope.run(() => useFormCheck('sample', values))
    values.value = { title: '暖气不热' }
    await nextTick()
    scope.stop()
    await vi.runAllTimersAsync()
    expect(calls).toHaveLength(0)
  })
})
