import { describe, expect, it } from 'vitest'
import { field, formOf, ticketOf } from './test/fixtures'
import type { TicketEvent } from './graphql/ticket'
import { attachmentsOf, describeChange, formsOf, inputRows, narrowForm, onTimeText, ticketForm, unitCodes, valueText } from './ticket'

function event(extra: Partial<TicketEvent>): TicketEvent {
  return {
    action: 'a',
    actionLabel: '动作',
    actor: 'someone',
    at: '2026-12-02T17:30:00+08:00',
    form: null,
    fromState: 's1',
    toState: 's2',
    toStateLabel: '状态二',
    input: null,
    onTime: null,
    stepDue: null,
    unit: null,
    ...extra,
  }
}

const ticket = ticketOf

const reply = [
  field('result', 'longtext'),
  field('kind', 'tree', { options: [{ value: '01', label: '城建', children: [{ value: '0103', label: '供暖', children: [] }] }] }),
  field('files', 'attachment', { multiple: true }),
  field('where', 'address', { levels: [{ key: 'district', label: '区县' }] }),
]

describe('inputRows', () => {
  it('labels values by the form, in its field order, options by their label', () => {
    const rows = inputRows({ kind: '0103', result: '已处理完毕', files: ['a1', 'a2'], extra: 'x' }, reply)
    expect(rows.map((r) => [r.label, r.text])).toEqual([
      ['RESULT', '已处理完毕'],
      ['KIND', '供暖'],
      ['FILES', ''],
      ['extra', 'x'],
    ])
    expect(rows[2].attachments).toEqual(['a1', 'a2'])
  })

  it('shows an address by the names of its levels and its words, never its division codes', () => {
    const where = field('where', 'address', { levels: [{ key: 'district', label: '区县' }, { key: 'street', label: '街道' }] })
    const v = { district: '150105', street: '150105001', detail: '大学东街 1 号' }
    expect(valueText(v, where)).toBe('大学东街 1 号')
    expect(valueText(v, where, { '150105': '赛罕区', '150105001': '大学东街街道' })).toBe('赛罕区 大学东街街道 大学东街 1 号')
    expect(valueText(v, where, { '150105': '赛罕区' })).toBe('赛罕区 大学东街 1 号')
  })

  it('names a unit field by its unit, the code until the name is known', () => {
    const unit = field('unit', 'unit')
    expect(valueText('150105', unit, { '150105': '赛罕区' })).toBe('赛罕区')
    expect(valueText('150105', unit)).toBe('150105')
    expect(inputRows({ unit: '150105' }, [unit], false, { '150105': '赛罕区' })[0]!.text).toBe('赛罕区')
  })

  it('lists the unit codes of unit fields and address levels', () => {
    const fields = [field('unit', 'unit'), field('where', 'address', { levels: [{ key: 'district', label: '区县' }] }), field('title', 'text')]
    expect(unitCodes({ unit: '150105', where: { district: '150102', detail: 'x' }, title: '150000' }, fields)).toEqual(['150105', '150102'])
    expect(unitCodes(null, fields)).toEqual([])
  })

  it('leaves out of a ticket\'s fields what its form does not know', () => {
    expect(inputRows({ result: '已处理完毕', kept: 'x' }, reply, true).map((r) => r.name)).toEqual(['result'])
    expect(inputRows({ kept: 'x' }, [], true).map((r) => r.name)).toEqual(['kept'])
  })

  it('leaves out what is empty and copes with no input or no form', () => {
    expect(inputRows({ result: '', files: [] }, reply)).toEqual([])
    expect(inputRows(null, reply)).toEqual([])
    expect(inputRows({ ok: true }).map((r) => r.text)).toEqual(['是'])
  })
})

describe('a ticket and its forms', () => {
  const t = ticket({
    fields: { photo: 'f0' },
    events: [
      event({ form: 'reg', input: { photo: 'f0' }, actionLabel: '登记' }),
      event({ form: null }),
      event({ form: 'reply', input: { files: ['a1', 'f0'] }, actionLabel: '回复' }),
    ],
  })
  const forms = { reg: [field('photo', 'attachment')], reply }

  it('takes its fields form from the event that created it', () => {
    expect(ticketForm(t)).toBe('reg')
    expect(formsOf(t)).toEqual(['reg', 'reply'])
  })

  it('lists every attachment once, with where it came from', () => {
    expect(attachmentsOf(t, forms)).toEqual([
      { id: 'f0', from: 'PHOTO' },
      { id: 'a1', from: '回复' },
    ])
  })
})

describe('timeline wording', () => {
  it('says whether a step met its step limit, nothing without one', () => {
    expect(onTimeText({ onTime: true })).toBe('按时')
    expect(onTimeText({ onTime: false })).toBe('超时')
    expect(onTimeText({ onTime: null })).toBe('')
  })

  it('says what changed when someone acted first', () => {
    const before = ticket({ events: [event({})] })
    const after = ticket({
      version: 2,
      stateLabel: '状态二',
      holder: { unitCode: 'u2', unitName: '乙单位', user: 'li' },
      events: [event({}), event({ actor: 'li', actionLabel: '签收', at: '2026-12-02T18:05:00+08:00' })],
    })
    expect(describeChange(before, after)).toEqual(['li 于 2026-12-02 18:05 执行了「签收」', '状态：状态一 → 状态二', '承办：甲单位 → 乙单位 / li'])
    expect(describeChange(before, ticket({ version: 3, events: [event({})] }))).toEqual(['工单已更新（版本 1 → 3）'])
  })
})

describe('narrowForm', () => {
  it('keeps the options an action allows now, and the rest of the form as it is', () => {
    const opts = ['好', '较好', '差'].map((v) => ({ value: v, label: v, children: [] }))
    const form = formOf('r', [field('level', 'choice', { options: opts }), field('note', 'longtext')])
    const narrowed = narrowForm(form, { level: ['好', '较好'], note: ['x'] })
    expect(narrowed.fields[0].options.map((o) => o.value)).toEqual(['好', '较好'])
    expect(narrowed.fields[1]).toBe(form.fields[1])
    expect(form.fields[0].options).toHaveLength(3)
  })
})
