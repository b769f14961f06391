// The GraphQL client: queries and mutations over HTTP POST /graphql,
// subscriptions over graphql-transport-ws on the same path. Errors come
// back as GqlError carrying the server's extensions.code and, for bad
// input, the problems by field, so a form can put each message next to
// the field it names.
import { createClient, type Client } from 'graphql-ws'

// Doc is a GraphQL document typed with its result and variables, so a
// call site cannot pass the wrong variables or misread the answer.
export type Doc<R, V> = string & { readonly __result?: R; readonly __variables?: V }

export function doc<R, V = Record<string, never>>(source: string): Doc<R, V> {
  return source as Doc<R, V>
}

export interface FieldProblem {
  field: string
  label?: string
  message: string
}

// Codes of extensions.code (README, GraphQL), plus NETWORK for a request
// that never got an answer.
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'NETWORK'

export class GqlError extends Error {
  readonly code: ErrorCode
  // problems lists every field problem: extensions.errors of a form check,
  // or the one extensions.field.
  readonly problems: FieldProblem[]
  readonly extensions: Record<string, unknown>

  constructor(code: ErrorCode, message: string, problems: FieldProblem[] = [], extensions: Record<string, unknown> = {}) {
    super(message)
    this.name = 'GqlError'
    this.code = code
    this.problems = problems
    this.extensions = extensions
  }

  // fieldMessage is the message for one input field (by its name or its
  // path under input), or undefined.
  fieldMessage(field: string): string | undefined {
    return this.problems.find((p) => p.field === field || p.field === 'input.' + field)?.message
  }
}

const knownCodes: ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL']

export const networkMessage = '网络连接失败，请检查网络后重试'

interface WireError {
  message?: string
  extensions?: Record<string, unknown>
}

// toError turns the errors of a GraphQL answer into one GqlError: the
// first error's code and message, and the field problems of all of them.
export function toError(errors: WireError[]): GqlError {
  const first = errors[0] ?? {}
  const ext = first.extensions ?? {}
  const raw = typeof ext.code === 'string' ? ext.code : 'INTERNAL'
  const code = (knownCodes as string[]).includes(raw) ? (raw as ErrorCode) : 'INTERNAL'
  const problems: FieldProblem[] = []
  for (const e of errors) {
    const x = e.extensions ?? {}
    if (Array.isArray(x.errors)) {
      for (const p of x.errors as FieldProblem[]) {
        if (p && typeof p.field === 'string') problems.push({ field: p.field, label: p.label, message: p.message })
      }
    } else if (typeof x.field === 'string') {
      problems.push({ field: x.field, message: e.message ?? '' })
    }
  }
  return new GqlError(code, first.message || '服务出错，请稍后重试', problems, ext)
}

// Auth is how the client finds the session token and reports that the
// server no longer accepts it.
export interface Auth {
  token(): string | null
  expired(): void
}

let auth: Auth = { token: () => null, expired: () => {} }

export function setAuth(a: Auth) {
  auth = a
}

// authHeaders are the headers that sign a plain HTTP request in (an
// attachment's upload or download beside /graphql).
export function authHeaders(): Record<string, string> {
  const token = auth.token()
  return token ? { Authorization: 'Bearer ' + token } : {}
}

export async function request<R, V>(document: Doc<R, V>, variables?: V): Promise<R> {
  const token = auth.token()
  const headers: Record<string, string> = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = 'Bearer ' + token
  let res: Response
  try {
    res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query: document, variables: variables ?? {} }) })
  } catch {
    throw new GqlError('NETWORK', networkMessage)
  }
  let body: { data?: R; errors?: WireError[] }
  try {
    body = await res.json()
  } catch {
    throw new GqlError(res.status === 503 ? 'UNAVAILABLE' : 'INTERNAL', res.status === 503 ? '服务正在启动，请稍后重试' : '服务出错，请稍后重试')
  }
  if (body.errors?.length) {
    const err = toError(body.errors)
    if (err.code === 'UNAUTHENTICATED' && token) auth.expired()
    throw err
  }
  return body.data as R
}

let ws: Client | null = null

function wsClient(): Client {
  if (!ws) {
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql'
    ws = createClient({
      url,
      lazy: true,
      // A lost connection is retried (graphql-ws backs off), so a page
      // keeps hearing pushes after the network or the server comes back.
      retryAttempts: Infinity,
      shouldRetry: () => true,
      connectionParams: () => {
        const t = auth.token()
        return t ? { Authorization: 'Bearer ' + t } : {}
      },
    })
  }
  return ws
}

// subscribe starts a subscription and returns the function that ends it.
export function subscribe<R, V>(document: Doc<R, V>, variables: V, next: (data: R) => void, error?: (e: GqlError) => void): () => void {
  return wsClient().subscribe<R>(
    { query: document, variables: (variables ?? {}) as Record<string, unknown> },
    {
      next: (r) => {
        if (r.errors?.length) error?.(toError(r.errors as WireError[]))
        else if (r.data) next(r.data)
      },
      error: (e) => error?.(Array.isArray(e) ? toError(e as WireError[]) : new GqlError('NETWORK', networkMessage)),
      complete: () => {},
    },
  )
}

// resetSubscriptions closes the socket, so the next subscription connects
// with the current session (after login or logout).
export function resetSubscriptions() {
  ws?.dispose()
  ws = null
}

// messageOf is the text to show for a failure: the server's message for a
// GraphQL error, else the error itself.
export function messageOf(e: unknown): string {
  return e instanceof GqlError ? e.message : e instanceof Error ? e.message : String(e)
}

// download fetches a file the server serves to the signed-in user (an
// export, an attachment) with the session's token, which a plain link
// cannot carry, and hands it to the browser as a download.
export async function download(path: string, fallbackName: string): Promise<void> {
  const token = auth.token()
  let res: Response
  try {
    res = await fetch(path, { headers: token ? { Authorization: 'Bearer ' + token } : {} })
  } catch {
    throw new GqlError('NETWORK', networkMessage)
  }
  if (res.status === 401 && token) auth.expired()
  if (!res.ok) throw new GqlError(res.status === 404 ? 'NOT_FOUND' : 'INTERNAL', res.status === 404 ? '文件不存在或已过期' : '下载失败（' + res.status + '）')
  const blob = await res.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = fileName(res.headers.get('Content-Disposition')) || fallbackName
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

// fileName reads the name a Content-Disposition header gives (RFC 6266:
// filename* in UTF-8 first, then filename).
export function fileName(header: string | null): string {
  if (!header) return ''
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header)
  if (star) {
    try {
      return decodeURIComponent(star[1].trim())
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header)
  return plain ? plain[1].trim() : ''
}
