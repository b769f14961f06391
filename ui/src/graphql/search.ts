// GraphQL documents of the query page (工单查询) and exports, typed by
// hand against schema/graphql/schema.graphql like documents.ts.
import { doc } from './client'
import type { PageInfo, TicketRow } from './documents'

// TicketFilter as the page sends it: every key optional, facets by name.
export interface TicketFilter {
  states?: string[]
  units?: string[]
  open?: boolean
  overdue?: boolean
  phone?: string
  caller?: string
  createdFrom?: string
  createdTo?: string
  facets?: Record<string, string[]>
}

export type TicketSort = 'NEWEST' | 'OLDEST' | 'DEADLINE' | 'RELEVANCE'

export interface TicketHighlight {
  label: string
  // fragment is HTML: matches in <mark>, everything else escaped by the server.
  fragment: string
}

export interface TicketHit {
  node: TicketRow
  highlights: TicketHighlight[]
}

export interface FacetValue {
  value: string
  label: string
  count: number
}

export interface Facet {
  name: string
  label: string
  values: FacetValue[]
}

export interface SearchVars {
  query: string
  filter?: TicketFilter | null
  sort?: TicketSort
  first: number
  after?: string | null
}

const rowFields = 'id number flow state stateLabel fields deadline stepDeadline stepLimit createdAt holder { unitName user }'

export interface SearchRows {
  searchTickets: {
    totalCount: number
    totalCountCapped: boolean
    edges: (Omit<TicketHit, 'highlights'> & { highlights?: TicketHighlight[] })[]
    pageInfo: PageInfo
  }
}

// The rows of a search, with or without highlights: two documents, as
// the server's complexity bound counts a selection whatever @include
// says, and counts each list without a page size as ten items — the
// highlights of a thousand rows cost more than the bound (25 values a
// row) allows.
function rowsDoc(highlights: boolean) {
  return doc<SearchRows, SearchVars>(`query SearchTickets($query: String!, $filter: TicketFilter, $sort: TicketSort, $first: Int, $after: String) {
  searchTickets(query: $query, filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount totalCountCapped
    edges { node { ${rowFields} }${highlights ? ' highlights { label fragment }' : ''} }
    pageInfo { endCursor hasNextPage }
  }
}`)
}

export const SEARCH_TICKETS = rowsDoc(false)
export const SEARCH_TICKETS_HIGHLIGHTED = rowsDoc(true)

// highlightsUpTo is the largest page that asks for highlights.
export const highlightsUpTo = 500

// The facet counts of a search, in a request of their own: the bound
// counts whatever sits beside a page's edges once for each row.
export const SEARCH_FACETS = doc<
  { searchTickets: { totalCount: number; totalCountCapped: boolean; facets: Facet[] } },
  { query: string; filter?: TicketFilter | null; facets?: string[] | null }
>(`query SearchFacets($query: String!, $filter: TicketFilter, $facets: [String!]) {
  searchTickets(query: $query, filter: $filter, first: 1) {
    totalCount totalCountCapped
    facets(names: $facets) { name label values { value label count } }
  }
}`)

export interface ArgHelp {
  name: string
  description: string | null
}

export interface ArgInfo extends ArgHelp {
  type: { kind: string; ofType: { name: string | null } | null }
}

// The query box's syntax help is the server's own description of the
// query argument, so it cannot drift from what the server parses.
// The sort's choices and their labels are the enum's own descriptions.
export const SEARCH_HELP = doc<{
  q: { fields: { name: string; args: ArgInfo[] }[] } | null
  s: { enumValues: ArgHelp[] } | null
}>(`query SearchHelp {
  q: __type(name: "Query") { fields { name args { name description type { kind ofType { name } } } } }
  s: __type(name: "TicketSort") { enumValues { name description } }
}`)

export interface ExportColumn {
  key: string
  label: string
}

export const EXPORT_COLUMNS = doc<{ exportColumns: ExportColumn[] }, { form: string }>(
  `query ExportColumns($form: String!) { exportColumns(form: $form) { key label } }`,
)

export interface ExportJob {
  id: string
  format: string
  state: string
  done: number
  total: number
  size: number | null
  error: string | null
  downloadUrl: string | null
  createdAt: string
  finishedAt: string | null
}

const jobFields = 'id format state done total size error downloadUrl createdAt finishedAt'

export const START_EXPORT = doc<
  { startExport: ExportJob },
  { form: string; format: string; columns?: string[] | null; query?: string; filter?: TicketFilter | null }
>(`mutation StartExport($form: String!, $format: String!, $columns: [String!], $query: String, $filter: TicketFilter) {
  startExport(form: $form, format: $format, columns: $columns, query: $query, filter: $filter) { ${jobFields} }
}`)

export const EXPORT_JOB = doc<{ exportJob: ExportJob }, { id: string }>(
  `query ExportJob($id: ID!) { exportJob(id: $id) { ${jobFields} } }`,
)

export const EXPORT_JOBS = doc<{ exportJobs: ExportJob[] }>(`query ExportJobs { exportJobs { ${jobFields} } }`)
