import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { setAuth } from '../graphql/client'
import { tokenKey, useSession } from './session'

const me = { id: '7', username: 'clerk', displayName: '承办人 赵敏', roles: ['clerk'], scope: 'subtree', mustChangePassword: false, unit: { id: '3', name: '赛罕区' } }

// server answers each operation by its name, as the real one would.
function server(answers: Record<string, unknown>) {
  const calls: { op: string; auth?: string; variables: unknown }[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      const op = /^(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? ''
      calls.push({ op, auth: (init.headers as Record<string, string>).Authorization, variables: body.variables })
      return new Response(JSON.stringify(answers[op]), { headers: { 'Content-Type': 'application/json' } })
    }),
  )
  return calls
}

beforeEach(() => {
  vi.unstubAllGlobals()
  localStorage.clear()
  setActivePinia(createPinia())
})

describe('session', () => {
  it('keeps the token across reloads and signs out', async () => {
    const calls = server({
      Login: { data: { login: { token: 'T1', expiresAt: '2026-12-02T20:00:00+08:00', mustChangePassword: false, me } } },
      Logout: { data: { logout: true } },
    })
    const s = useSession()
    setAuth({ token: () => s.token, expired: s.expire })
    await s.login('clerk', 'pw')
    expect(s.signedIn).toBe(true)
    expect(s.me?.displayName).toBe('承办人 赵敏')
    expect(localStorage.getItem(tokenKey)).toBe('T1')

    setActivePinia(createPinia())
    expect(useSession().token).toBe('T1')

    await s.logout()
    expect(calls.at(-1)).toMatchObject({ op: 'Logout', auth: 'Bearer T1' })
    expect(s.signedIn).toBe(false)
    expect(localStorage.getItem(tokenKey)).toBeNull()
  })

  it('a refused login leaves no session and passes the server message on', async () => {
    server({ Login: { errors: [{ message: '用户名或密码错误，或尝试过于频繁，请稍后再试', extensions: { code: 'UNAUTHENTICATED' } }] } })
    const s = useSession()
    setAuth({ token: () => s.token, expired: s.expire })
    await expect(s.login('clerk', 'wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: '用户名或密码错误，或尝试过于频繁，请稍后再试' })
    expect(s.signedIn).toBe(false)
    expect(s.expired).toBe(false)
  })

  it('a token the server refuses mid-session is forgotten and marked expired', async () => {
    localStorage.setItem(tokenKey, 'OLD')
    server({ Me: { errors: [{ message: '登录已失效，请重新登录', extensions: { code: 'UNAUTHENTICATED' } }] } })
    const s = useSession()
    setAuth({ token: () => s.token, expired: s.expire })
    await expect(s.loadMe()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(s.signedIn).toBe(false)
    expect(s.expired).toBe(true)
    expect(localStorage.getItem(tokenKey)).toBeNull()
  })

  it('a temporary password must be changed, then the flag is gone', async () => {
    server({
      Login: { data: { login: { token: 'T2', expiresAt: '2026-12-02T20:00:00+08:00', mustChangePassword: true, me: { ...me, mustChangePassword: true } } } },
      ChangePassword: { data: { changePassword: true } },
      Me: { data: { me } },
    })
    const s = useSession()
    setAuth({ token: () => s.token, expired: s.expire })
    await s.login('clerk', 'temp')
    expect(s.mustChangePassword).toBe(true)
    await s.changePassword('temp', 'Xk9#mq2!Lp')
    expect(s.mustChangePassword).toBe(false)
  })

  it('a refused password change names the field', async () => {
    server({
      ChangePassword: { errors: [{ message: '原密码不正确，或尝试过于频繁，请稍后再试', extensions: { code: 'BAD_USER_INPUT', field: 'oldPassword' } }] },
    })
    const s = useSession()
    await expect(s.changePassword('bad', 'Xk9#mq2!Lp')).rejects.toSatisfy(
      (e: { fieldMessage(f: string): string | undefined }) => e.fieldMessage('oldPassword') === '原密码不正确，或尝试过于频繁，请稍后再试',
    )
  })
})
