// The GraphQL documents of forms: a form's definition (form(name)), the
// live check as the user types (checkForm) and what the field widgets look
// up (units, users). Typed by hand against schema/graphql/schema.graphql.
import { doc } from './client'

export interface FormOption {
  value: string
  label: string
  children: FormOption[]
}

export interface FormLevel {
  key: string
  label: string
}

export interface FormFieldDef {
  name: string
  label: string
  type: string
  required: boolean
  multiple: boolean
  leafOnly: boolean
  integer: boolean
  min: number | null
  max: number | null
  default: unknown
  computed: boolean
  conditional: boolean
  placeholder: string | null
  help: string | null
  // caller says the field identifies who calls: phone, name or address.
  caller: string | null
  // search: its text is searched (similar tickets); facet: a search filter.
  search: boolean
  facet: boolean
  options: FormOption[]
  levels: FormLevel[]
}

export interface FormDef {
  name: string
  label: string
  help: string | null
  freeFields: boolean
  // summary names the field that sums a ticket up; callField the one a
  // registration from a call takes the call's ID in.
  summary: string | null
  callField: string | null
  fields: FormFieldDef[]
}

// Dictionaries are trees of a few levels; three cover every one shipped.
// GraphQL cannot ask for a tree of any depth, and each level multiplies
// the query's cost (the server's complexity limit counts a list as ten).
const optionFields = 'value label'
const options = `options { ${optionFields} children { ${optionFields} children { ${optionFields} } } }`

export const formFields = `name label type required multiple leafOnly integer min max default computed conditional placeholder help caller search facet ${options} levels { key label }`

export const FORM = doc<{ form: FormDef }, { name: string }>(
  `query Form($name: String!) { form(name: $name) { name label help freeFields summary callField fields { ${formFields} } } }`,
)

export interface FormFieldError {
  field: string
  label: string
  message: string
}

export interface FormCheckResult {
  valid: boolean
  errors: FormFieldError[]
  hidden: string[]
  values: Record<string, unknown> | null
}

export const CHECK_FORM = doc<{ checkForm: FormCheckResult }, { name: string; input: Record<string, unknown>; partial: boolean }>(
  `query CheckForm($name: String!, $input: JSON!, $partial: Boolean) {
  checkForm(name: $name, input: $input, partial: $partial) { valid errors { field label message } hidden values }
}`,
)

export interface UnitOption {
  id: string
  code: string
  name: string
}

export const SEARCH_UNITS = doc<{ units: { edges: { node: UnitOption }[] } }, { search: string; first: number }>(
  `query SearchUnits($search: String, $first: Int) { units(search: $search, first: $first) { edges { node { id code name } } } }`,
)

export interface UserOption {
  username: string
  displayName: string
}

export const SEARCH_USERS = doc<{ users: { edges: { node: UserOption }[] } }, { search: string; first: number }>(
  `query SearchUsers($search: String, $first: Int) { users(search: $search, first: $first, subunits: true) { edges { node { username displayName } } } }`,
)

export interface UnitName {
  code: string
  name: string
}

export const ADDRESS_OPTIONS = doc<
  { addressOptions: UnitName[] },
  { form: string; field: string; level: string; parent: string | null }
>(`query AddressOptions($form: String!, $field: String!, $level: String!, $parent: String) {
  addressOptions(form: $form, field: $field, level: $level, parent: $parent) { code name }
}`)

// UNIT_NAMES names the units a page's values hold by code (unit fields,
// address levels), whatever the reader's scope; at most 200 at once.
export const UNIT_NAMES = doc<{ unitNames: UnitName[] }, { codes: string[] }>(
  `query UnitNames($codes: [String!]!) { unitNames(codes: $codes) { code name } }`,
)

export interface Attachment {
  id: string
  name: string
  size: number
  mediaType: string
}

// The registration page (a workbench entry of page register).

export interface CreateAction {
  name: string
  label: string
  draft: boolean
  required: string[]
}

export const REGISTER_ACTIONS = doc<{ myWorkbench: { name: string; menu: { name: string; actions: CreateAction[] }[] }[] }>(
  `query RegisterActions { myWorkbench { name menu { name actions { name label draft required } } } }`,
)

export interface CreatedTicket {
  id: string
  number: string
  stateLabel: string
}

export const CREATE_TICKET = doc<
  { createTicket: CreatedTicket },
  { form: string; input: Record<string, unknown>; action: string; draft: boolean }
>(`mutation CreateTicket($form: String!, $input: JSON!, $action: String, $draft: Boolean) {
  createTicket(form: $form, input: $input, action: $action, draft: $draft) { id number stateLabel }
}`)

export interface HintTicket {
  id: string
  number: string
  stateLabel: string
  createdAt: string
  fields: Record<string, unknown>
}

const hintFields = 'id number stateLabel createdAt fields'

export const SIMILAR_TICKETS = doc<
  { similarTickets: { score: number; shared: string[]; ticket: HintTicket }[] },
  { text: string; facets: Record<string, string>; first: number }
>(`query SimilarTickets($text: String!, $facets: JSON, $first: Int) {
  similarTickets(text: $text, facets: $facets, first: $first) { score shared ticket { ${hintFields} } }
}`)

export const IN_TRANSIT = doc<{ inTransit: { matchedBy: string[]; ticket: HintTicket }[] }, { phone: string }>(
  `query InTransit($phone: String) { inTransit(phone: $phone) { matchedBy ticket { ${hintFields} } } }`,
)
