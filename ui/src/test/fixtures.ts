// Fixtures for unit tests: a form field of any type, a form, a ticket,
// each with every property at a plain default and what a test sets.
import type { FormDef, FormFieldDef } from '../graphql/forms'
import type { TicketDetail } from '../graphql/ticket'

export function field(name: string, type: string, extra: Partial<FormFieldDef> = {}): FormFieldDef {
  return {
    name,
    label: name.toUpperCase(),
    type,
    required: false,
    multiple: false,
    leafOnly: false,
    integer: false,
    min: null,
    max: null,
    default: null,
    computed: false,
    conditional: false,
    placeholder: null,
    help: null,
    caller: null,
    search: false,
    facet: false,
    options: [],
    levels: [],
    ...extra,
  }
}

export function formOf(name: string, fields: FormFieldDef[]): FormDef {
  return { name, label: name.toUpperCase(), help: null, freeFields: false, summary: null, callField: null, fields }
}

export function ticketOf(extra: Partial<TicketDetail> = {}): TicketDetail {
  return {
    id: '1',
    number: '20261202000001',
    flow: 'f',
    state: 's1',
    stateLabel: '状态一',
    version: 1,
    fields: {},
    inputs: {},
    deadline: null,
    stepDeadline: null,
    stepLimit: null,
    createdAt: '2026-12-02T09:00:00+08:00',
    closedAt: null,
    creator: 'x',
    holder: { unitCode: 'u1', unitName: '甲单位', user: null },
    branches: [],
    events: [],
    availableActions: [],
    links: [],
    ...extra,
  }
}
