// The query page's search lives in the address (?q=…&f.category=…), so a
// search can be bookmarked, shared and returned to with the back button.
// These functions map the address's query to the search and back; the
// facet names are whatever the server's facets are (f.<name>), never a
// list kept here.
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import type { TicketFilter, TicketSort } from '../graphql/search'

export interface SearchState {
  q: string
  sort: TicketSort | ''
  // from and to are days (YYYY-MM-DD) of registration, to included.
  from: string
  to: string
  open: boolean | null
  overdue: boolean
  phone: string
  caller: string
  // unit is a unit's code, its tickets and those of the units below it;
  // unitName is kept beside it to show after a reload.
  unit: string
  unitName: string
  facets: Record<string, string[]>
}

const sorts: TicketSort[] = ['NEWEST', 'OLDEST', 'DEADLINE', 'RELEVANCE']
const day = /^\d{4}-\d{2}-\d{2}$/
// Bounds on what an address may carry, as the server bounds its input.
const maxText = 200
const maxValues = 50

export function emptyState(): SearchState {
  return { q: '', sort: '', from: '', to: '', open: null, overdue: false, phone: '', caller: '', unit: '', unitName: '', facets: {} }
}

function one(v: LocationQuery[string] | undefined): string {
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' ? s.slice(0, maxText) : ''
}

function many(v: LocationQuery[string] | undefined): string[] {
  const list = Array.isArray(v) ? v : v == null ? [] : [v]
  return [...new Set(list.filter((s): s is string => typeof s === 'string' && s !== ''))].slice(0, maxValues)
}

export function fromQuery(query: LocationQuery): SearchState {
  const s = emptyState()
  s.q = one(query.q)
  const sort = one(query.sort) as TicketSort
  s.sort = sorts.includes(sort) ? sort : ''
  s.from = day.test(one(query.from)) ? one(query.from) : ''
  s.to = day.test(one(query.to)) ? one(query.to) : ''
  const open = one(query.open)
  s.open = open === '1' ? true : open === '0' ? false : null
  s.overdue = one(query.overdue) === '1'
  s.phone = one(query.phone)
  s.caller = one(query.caller)
  s.unit = one(query.unit)
  s.unitName = s.unit ? one(query.unitName) : ''
  for (const key of Object.keys(query).sort()) {
    if (!key.startsWith('f.') || key.length <= 2) continue
    const values = many(query[key])
    if (values.length) s.facets[key.slice(2)] = values
  }
  return s
}

// toQuery writes only what differs from an empty search, in a stable
// order, so equal searches have equal addresses.
export function toQuery(s: SearchState): LocationQueryRaw {
  const q: LocationQueryRaw = {}
  if (s.q) q.q = s.q
  if (s.sort) q.sort = s.sort
  if (s.from) q.from = s.from
  if (s.to) q.to = s.to
  if (s.open !== null) q.open = s.open ? '1' : '0'
  if (s.overdue) q.overdue = '1'
  if (s.phone) q.phone = s.phone
  if (s.caller) q.caller = s.caller
  if (s.unit) q.unit = s.unit
  if (s.unit && s.unitName) q.unitName = s.unitName
  for (const name of Object.keys(s.facets).sort()) {
    const values = s.facets[name]
    if (values?.length) q['f.' + name] = values.length === 1 ? values[0] : [...values]
  }
  return q
}

// localMidnight is the start of a day in the browser's zone, as RFC 3339.
function localMidnight(d: string, plusDays = 0): string {
  const [y, m, dd] = d.split('-').map(Number)
  return new Date(y, m - 1, dd + plusDays).toISOString()
}

// toFilter is the TicketFilter searchTickets and startExport take; null
// when nothing narrows the search.
export function toFilter(s: SearchState): TicketFilter | null {
  const f: TicketFilter = {}
  if (s.from) f.createdFrom = localMidnight(s.from)
  if (s.to) f.createdTo = localMidnight(s.to, 1) // the server's bound is exclusive
  if (s.open !== null) f.open = s.open
  if (s.overdue) f.overdue = true
  if (s.phone) f.phone = s.phone
  if (s.caller) f.caller = s.caller
  if (s.unit) f.units = [s.unit]
  const facets = Object.fromEntries(Object.entries(s.facets).filter(([, v]) => v.length > 0))
  if (Object.keys(facets).length) f.facets = facets
  return Object.keys(f).length ? f : null
}

// toggleFacet adds a facet value to the search, or takes it away.
export function toggleFacet(s: SearchState, name: string, value: string): SearchState {
  const now = s.facets[name] ?? []
  const next = now.includes(value) ? now.filter((v) => v !== value) : [...now, value]
  const facets = { ...s.facets }
  if (next.length) facets[name] = next
  else delete facets[name]
  return { ...s, facets }
}

// sameSearch says whether two states ask the same of the server.
export function sameSearch(a: SearchState, b: SearchState): boolean {
  return JSON.stringify(toQuery(a)) === JSON.stringify(toQuery(b))
}
