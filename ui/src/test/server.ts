// A stand-in for the GraphQL server in unit tests: fetch answers each
// operation (by its name) as answers says, and the calls are recorded.
import { vi } from 'vitest'

export interface Call {
  op: string
  variables: Record<string, unknown>
}

export function fakeServer(answers: Record<string, (vars: Record<string, unknown>) => unknown>): Call[] {
  const calls: Call[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (_u: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body))
      const op = /^(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? ''
      calls.push({ op, variables: body.variables })
      const answer = answers[op]
      if (!answer) throw new Error('no answer for ' + op)
      return new Response(JSON.stringify(answer(body.variables)), { headers: { 'Content-Type': 'application/json' } })
    }),
  )
  return calls
}
