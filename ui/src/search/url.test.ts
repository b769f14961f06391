import { describe, expect, it } from 'vitest'
import { emptyState, fromQuery, sameSearch, toFilter, toggleFacet, toQuery } from './url'

describe('search ↔ address', () => {
  it('round-trips a full search', () => {
    const s = { ...emptyState(), q: '暖气 -噪音', sort: 'OLDEST' as const, from: '2026-11-01', to: '2026-11-30', open: true, overdue: true, phone: '1390', caller: '张', unit: '150105', unitName: '赛罕区', facets: { 'address.street': ['150105001'], category: ['0103', '0104'] } }
    const q = toQuery(s)
    expect(q).toEqual({ q: '暖气 -噪音', sort: 'OLDEST', from: '2026-11-01', to: '2026-11-30', open: '1', overdue: '1', phone: '1390', caller: '张', unit: '150105', unitName: '赛罕区', 'f.address.street': '150105001', 'f.category': ['0103', '0104'] })
    expect(fromQuery(q as never)).toEqual(s)
  })

  it('writes nothing for an empty search', () => {
    expect(toQuery(emptyState())).toEqual({})
    expect(toFilter(emptyState())).toBeNull()
  })

  it('drops what the address cannot mean', () => {
    const s = fromQuery({ sort: 'SIDEWAYS', from: 'yesterday', open: 'maybe', 'f.': 'x', 'f.type': ['', '投诉', '投诉'], other: '1' })
    expect(s).toEqual({ ...emptyState(), facets: { type: ['投诉'] } })
  })

  it('bounds what an address carries', () => {
    const s = fromQuery({ q: 'x'.repeat(500), 'f.unit': Array.from({ length: 80 }, (_, i) => String(i)) })
    expect(s.q.length).toBe(200)
    expect(s.facets.unit.length).toBe(50)
  })

  it('narrows to a unit and the units below it', () => {
    expect(toFilter(fromQuery({ unit: '150105', unitName: '赛罕区' }))).toEqual({ units: ['150105'] })
    expect(fromQuery({ unitName: '赛罕区' }).unitName).toBe('') // a name alone means nothing
  })

  it('keeps open=0 apart from no open filter', () => {
    expect(fromQuery({ open: '0' }).open).toBe(false)
    expect(toFilter(fromQuery({ open: '0' }))).toEqual({ open: false })
    expect(fromQuery({}).open).toBeNull()
  })

  it('gives the server an exclusive end: the day after the last day', () => {
    const f = toFilter({ ...emptyState(), from: '2026-11-01', to: '2026-11-30' })!
    expect(new Date(f.createdFrom!).getTime()).toBe(new Date(2026, 10, 1).getTime())
    expect(new Date(f.createdTo!).getTime()).toBe(new Date(2026, 11, 1).getTime())
  })

  it('toggles a facet value on and off', () => {
    const on = toggleFacet(emptyState(), 'type', '投诉')
    expect(toFilter(on)).toEqual({ facets: { type: ['投诉'] } })
    const two = toggleFacet(on, 'type', '求助')
    expect(two.facets.type).toEqual(['投诉', '求助'])
    const off = toggleFacet(toggleFacet(two, 'type', '投诉'), 'type', '求助')
    expect(off.facets).toEqual({})
    expect(on.facets.type).toEqual(['投诉']) // the state before is untouched
  })

  it('sees equal searches as equal whatever the facet order', () => {
    const a = { ...emptyState(), facets: { a: ['1'], b: ['2'] } }
    const b = { ...emptyState(), facets: { b: ['2'], a: ['1'] } }
    expect(sameSearch(a, b)).toBe(true)
    expect(sameSearch(a, { ...a, q: 'x' })).toBe(false)
  })
})
