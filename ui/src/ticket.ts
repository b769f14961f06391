// How the ticket page words a ticket: an event's input as labelled rows
// (labels and option labels from the event's form), the attachments a
// ticket holds, whether a step was on time, and what changed when someone
// else acted first. Nothing here knows a flow or a form: every name and
// label comes from the ticket and form(name).
import { cell, wallClock } from './format'
import type { FormDef, FormFieldDef, FormOption } from './graphql/forms'
import type { TicketDetail, TicketEvent } from './graphql/ticket'

export interface InputRow {
  name: string
  label: string
  text: string
  // attachments are the attachment ids of an attachment field.
  attachments: string[]
}

const attachmentType = 'attachment'

function optionLabel(opts: FormOption[], v: string): string | undefined {
  for (const o of opts) {
    if (o.value === v) return o.label
    const below = optionLabel(o.children ?? [], v)
    if (below) return below
  }
  return undefined
}

function ids(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '')
  return typeof v === 'string' && v ? [v] : []
}

// UnitNames maps unit codes to names (unitNames): a unit field and each
// level of an address hold a code.
export type UnitNames = Record<string, string>

const unitType = 'unit'

// valueText shows one field's value: options by their label, a unit by
// its name, an address (a field with division levels) by the names of its
// levels and its detail, the rest as a list cell does. A code whose name
// is not known (yet) is left out of an address: it means nothing to a
// reader.
export function valueText(v: unknown, f?: Pick<FormFieldDef, 'levels' | 'options'> & { type?: string }, names: UnitNames = {}): string {
  if (v === null || v === undefined || v === '') return ''
  if (f?.levels?.length && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>
    const parts: string[] = []
    for (const l of f.levels) {
      const c = o[l.key]
      if (typeof c === 'string' && names[c]) parts.push(names[c])
    }
    for (const [k, x] of Object.entries(o)) {
      if (!f.levels.some((l) => l.key === k) && typeof x === 'string' && x) parts.push(x)
    }
    return parts.join(' ') || cell(v)
  }
  if (f?.type === unitType && typeof v === 'string') return names[v] ?? v
  if (f?.options?.length) {
    const label = (x: unknown) => (typeof x === 'string' ? (optionLabel(f.options, x) ?? x) : cell(x))
    if (Array.isArray(v)) return v.map(label).join('、')
    return label(v)
  }
  return cell(v)
}

// unitCodes lists the unit codes the values hold in unit fields and
// address levels of fields, for unitNames.
export function unitCodes(values: Record<string, unknown> | null | undefined, fields: FormFieldDef[] = []): string[] {
  const out: string[] = []
  if (!values) return out
  for (const f of fields) {
    const v = values[f.name]
    if (f.type === unitType && typeof v === 'string' && v) out.push(v)
    if (f.levels?.length && v && typeof v === 'object' && !Array.isArray(v)) {
      for (const l of f.levels) {
        const c = (v as Record<string, unknown>)[l.key]
        if (typeof c === 'string' && c) out.push(c)
      }
    }
  }
  return out
}

// inputRows lists an input's values in the order of the form's fields
// (those the form does not know after, by name, unless onlyForm: a
// ticket's own fields hold what the flow's effects keep for themselves),
// each with its label.
export function inputRows(input: Record<string, unknown> | null | undefined, fields: FormFieldDef[] = [], onlyForm = false, names: UnitNames = {}): InputRow[] {
  if (!input) return []
  const rows: InputRow[] = []
  const seen = new Set<string>()
  for (const f of fields) {
    if (!(f.name in input)) continue
    seen.add(f.name)
    const v = input[f.name]
    if (f.type === attachmentType) {
      const a = ids(v)
      if (a.length) rows.push({ name: f.name, label: f.label, text: '', attachments: a })
      continue
    }
    const text = valueText(v, f, names)
    if (text) rows.push({ name: f.name, label: f.label, text, attachments: [] })
  }
  for (const [k, v] of Object.entries(input)) {
    if (seen.has(k) || (onlyForm && fields.length)) continue
    const text = cell(v)
    if (text) rows.push({ name: k, label: k, text, attachments: [] })
  }
  return rows
}

export type FormsByName = Record<string, FormFieldDef[] | undefined>

// ticketForm is the form a ticket's fields were entered with: that of its
// first event (the one that created it).
export function ticketForm(t: Pick<TicketDetail, 'events'>): string | null {
  return t.events.find((e) => e.form)?.form ?? null
}

// formsOf names every form the page needs labels from.
export function formsOf(t: Pick<TicketDetail, 'events'>): string[] {
  return [...new Set(t.events.map((e) => e.form).filter((f): f is string => !!f))]
}

// attachmentsOf lists every attachment a ticket holds, in its fields and
// in each step's input, once each, with where it came from.
export function attachmentsOf(t: Pick<TicketDetail, 'fields' | 'events'>, forms: FormsByName): { id: string; from: string }[] {
  const out: { id: string; from: string }[] = []
  const seen = new Set<string>()
  const add = (id: string, from: string) => {
    if (seen.has(id)) return
    seen.add(id)
    out.push({ id, from })
  }
  const form = ticketForm(t)
  for (const f of (form && forms[form]) || []) if (f.type === attachmentType) for (const id of ids(t.fields[f.name])) add(id, f.label)
  for (const e of t.events) {
    for (const f of (e.form && forms[e.form]) || []) if (f.type === attachmentType) for (const id of ids(e.input?.[f.name])) add(id, e.actionLabel)
  }
  return out
}

// onTimeText says whether a step was done within its step limit; empty
// when it had none.
export function onTimeText(e: Pick<TicketEvent, 'onTime'>): string {
  if (e.onTime === null || e.onTime === undefined) return ''
  return e.onTime ? '按时' : '超时'
}

export function holderText(h: TicketDetail['holder']): string {
  return [h.unitName, h.user].filter(Boolean).join(' / ')
}

// describeChange says what happened between two readings of a ticket: the
// steps others took meanwhile, and the state and holder it is in now.
export function describeChange(before: TicketDetail, after: TicketDetail): string[] {
  const lines: string[] = []
  const known = before.events.length
  for (const e of after.events.slice(known)) lines.push(`${e.actor} 于 ${wallClock(e.at)} 执行了「${e.actionLabel}」`)
  if (before.stateLabel !== after.stateLabel) lines.push(`状态：${before.stateLabel} → ${after.stateLabel}`)
  const hb = holderText(before.holder)
  const ha = holderText(after.holder)
  if (hb !== ha) lines.push(`承办：${hb || '—'} → ${ha || '—'}`)
  if (lines.length === 0 && before.version !== after.version) lines.push(`工单已更新（版本 ${before.version} → ${after.version}）`)
  return lines
}

// branchStateText words a co-handling branch's state: done once it has
// a time it was done.
export function branchStateText(b: { doneAt: string | null }): string {
  return b.doneAt ? '已完成' : '协办中'
}

// size words a file size.
export function size(n: number): string {
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MB'
  return Math.max(1, Math.round(n / 1024)) + ' KB'
}

// narrowForm keeps, of each field with options, those an action allows
// now (TicketAction.choices: values by field name, as the server decides
// them); fields without choices keep the form's own options.
export function narrowForm(form: FormDef, choices: Record<string, unknown>): FormDef {
  const keep = (opts: FormOption[], allowed: Set<string>): FormOption[] =>
    opts.flatMap((o) => (allowed.has(o.value) ? [o] : keep(o.children ?? [], allowed)))
  return {
    ...form,
    fields: form.fields.map((f) => {
      const c = choices[f.name]
      if (!Array.isArray(c) || f.options.length === 0) return f
      return { ...f, options: keep(f.options, new Set(c.map(String))) }
    }),
  }
}
