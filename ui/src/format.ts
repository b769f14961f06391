// Times come from the server in the centre's zone with its offset
// (2026-12-02T17:30:00+08:00): shown as written, the centre's wall clock,
// whatever zone the browser is in.
export function wallClock(t: string | null | undefined): string {
  if (!t) return ''
  return t.slice(0, 16).replace('T', ' ')
}

export type Due = 'overdue' | 'near' | 'ok' | 'none'

// nearHours is how close a deadline counts as near in lists. The server's
// myWork counts "near" as due before the end of the next working day on
// the flow's calendar; a list row has only the instant, so it colours a
// day ahead.
export const nearHours = 24

export function dueOf(t: string | null | undefined, now = Date.now()): Due {
  if (!t) return 'none'
  const at = Date.parse(t)
  if (Number.isNaN(at)) return 'none'
  if (at < now) return 'overdue'
  if (at - now < nearHours * 3600_000) return 'near'
  return 'ok'
}

// cell shows a form field's value in a table cell: text as is, lists
// joined, objects (an address) by their text parts.
export function cell(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (Array.isArray(v)) return v.map(cell).filter(Boolean).join('、')
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).filter((x) => typeof x === 'string').join(' ')
  if (typeof v === 'boolean') return v ? '是' : '否'
  return String(v)
}

export const scopeLabels: Record<string, string> = {
  self: '本人',
  unit: '本单位',
  subtree: '本单位及下级',
  all: '全部',
}
