import { afterEach, describe, expect, it, vi } from 'vitest'
import { doc, GqlError, networkMessage, request, setAuth, toError } from './client'

const Q = doc<{ me: { username: string } }>('query { me { username } }')

function answer(body: unknown, status = 200) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }))
}

afterEach(() => {
  vi.unstubAllGlobals()
  setAuth({ token: () => null, expired: () => {} })
})

describe('toError', () => {
  it.each([
    {
      name: 'a form check lists every field problem',
      errors: [
        {
          message: '请检查填写的内容',
          extensions: {
            code: 'BAD_USER_INPUT',
            errors: [
              { field: 'input.title', label: '标题', message: '请填写标题' },
              { field: 'input.address.district', label: '地址', message: '请选择区县' },
            ],
          },
        },
      ],
      code: 'BAD_USER_INPUT',
      problems: [
        { field: 'input.title', label: '标题', message: '请填写标题' },
        { field: 'input.address.district', label: '地址', message: '请选择区县' },
      ],
    },
    {
      name: 'one field named by extensions.field',
      errors: [{ message: '原密码不正确，或尝试过于频繁，请稍后再试', extensions: { code: 'BAD_USER_INPUT', field: 'oldPassword' } }],
      code: 'BAD_USER_INPUT',
      problems: [{ field: 'oldPassword', message: '原密码不正确，或尝试过于频繁，请稍后再试' }],
    },
    {
      name: 'a conflict keeps its extensions',
      errors: [{ message: '工单已被他人处理', extensions: { code: 'CONFLICT', state: 'dept_handling' } }],
      code: 'CONFLICT',
      problems: [],
    },
    { name: 'an unknown code is internal', errors: [{ message: 'x', extensions: { code: 'TEAPOT' } }], code: 'INTERNAL', problems: [] },
    { name: 'no extensions is internal', errors: [{ message: 'Cannot query field "nope"' }], code: 'INTERNAL', problems: [] },
  ])('$name', ({ errors, code, problems }) => {
    const e = toError(errors)
    expect(e).toBeInstanceOf(GqlError)
    expect(e.code).toBe(code)
    expect(e.message).toBe(errors[0]!.message)
    expect(e.problems).toEqual(problems)
  })

  it('finds a field message by name or by its input path', () => {
    const e = toError([{ message: 'bad', extensions: { code: 'BAD_USER_INPUT', errors: [{ field: 'input.title', message: '请填写标题' }] } }])
    expect(e.fieldMessage('title')).toBe('请填写标题')
    expect(e.fieldMessage('input.title')).toBe('请填写标题')
    expect(e.fieldMessage('content')).toBeUndefined()
  })
})

describe('request', () => {
  it('sends the token and returns the data', async () => {
    const f = answer({ data: { me: { username: 'clerk' } } })
    vi.stubGlobal('fetch', f)
    setAuth({ token: () => 'T1', expired: () => {} })
    await expect(request(Q)).resolves.toEqual({ me: { username: 'clerk' } })
    const init = (f.mock.calls[0] as unknown as [string, RequestInit])[1]
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer T1')
  })

  it('reports an expired session only when a token was sent', async () => {
    const expired = vi.fn()
    vi.stubGlobal('fetch', answer({ errors: [{ message: '登录已失效，请重新登录', extensions: { code: 'UNAUTHENTICATED' } }] }))
    setAuth({ token: () => 'T1', expired })
    await expect(request(Q)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: '登录已失效，请重新登录' })
    expect(expired).toHaveBeenCalledTimes(1)

    setAuth({ token: () => null, expired })
    await expect(request(Q)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(expired).toHaveBeenCalledTimes(1)
  })

  it('turns a failed connection into NETWORK with a Chinese message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(request(Q)).rejects.toMatchObject({ code: 'NETWORK', message: networkMessage })
  })

  it('turns a starting server (503, not JSON) into UNAVAILABLE', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('starting', { status: 503 })))
    await expect(request(Q)).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })
})
