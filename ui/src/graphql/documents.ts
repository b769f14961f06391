// Every GraphQL document the UI sends, typed by hand against
// schema/graphql/schema.graphql (graphql-codegen's printSchema path chokes
// on the schema's object default `skills: JSON = {}`). e2e checks each of
// these against the running server by using them.
import { doc } from './client'

export interface Unit {
  id: string
  name: string
}

export interface Me {
  id: string
  username: string
  displayName: string
  roles: string[]
  scope: string
  mustChangePassword: boolean
  unit: Unit
}

const meFields = 'id username displayName roles scope mustChangePassword unit { id name }'

export const LOGIN = doc<
  { login: { token: string; expiresAt: string; mustChangePassword: boolean; me: Me } },
  { username: string; password: string }
>(`mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token expiresAt mustChangePassword me { ${meFields} } }
}`)

export const ME = doc<{ me: Me }>(`query Me { me { ${meFields} } }`)

export const LOGOUT = doc<{ logout: boolean }>(`mutation Logout { logout }`)

export const CHANGE_PASSWORD = doc<{ changePassword: boolean }, { oldPassword: string; newPassword: string }>(
  `mutation ChangePassword($oldPassword: String!, $newPassword: String!) {
  changePassword(oldPassword: $oldPassword, newPassword: $newPassword)
}`,
)

export interface WorkbenchEntry {
  name: string
  label: string
  page: string
  flow: string | null
  state: string | null
  due: string | null
  form: string | null
  columns: string[]
  // facets: the query page's filters with counts (searchTickets' facet names).
  facets?: string[]
  // cite: a register page's field that articles cited from its knowledge
  // side panel are added to.
  cite?: string | null
  // group: the heading consecutive entries are folded under.
  group?: string | null
}

export interface Workbench {
  name: string
  label: string
  menu: WorkbenchEntry[]
}

export interface WorkState {
  flow: string
  state: string
  label: string
  count: number
  overdue: number
  nearDue: number
  stepOverdue: number
}

export interface Work {
  total: number
  overdue: number
  nearDue: number
  stepOverdue: number
  states: WorkState[]
}

export const MY_WORKBENCH = doc<{ myWorkbench: Workbench[]; myWork: Work }>(`query MyWorkbench {
  myWorkbench { name label menu { name label page flow state due form columns facets cite group } }
  myWork { total overdue nearDue stepOverdue states { flow state label count overdue nearDue stepOverdue } }
}`)

export interface TicketRow {
  id: string
  number: string
  flow: string
  state: string
  stateLabel: string
  fields: Record<string, unknown>
  deadline: string | null
  stepDeadline: string | null
  stepLimit: string | null
  createdAt: string
  holder: { unitName: string | null; user: string | null }
}

export interface PageInfo {
  endCursor: string | null
  hasNextPage: boolean
}

export const MY_WORK_TICKETS = doc<
  { myWorkTickets: { edges: { node: TicketRow }[]; pageInfo: PageInfo } },
  { flow?: string | null; state?: string | null; due?: string | null; first: number; after?: string | null }
>(`query MyWorkTickets($flow: String, $state: String, $due: String, $first: Int, $after: String) {
  myWorkTickets(flow: $flow, state: $state, due: $due, first: $first, after: $after) {
    edges { node { id number flow state stateLabel fields deadline stepDeadline stepLimit createdAt holder { unitName user } } }
    pageInfo { endCursor hasNextPage }
  }
}`)

export interface FormField {
  name: string
  label: string
  type: string
}

export const FORM_FIELDS = doc<{ form: { name: string; label: string; fields: FormField[] } }, { name: string }>(
  `query FormFields($name: String!) { form(name: $name) { name label fields { name label type } } }`,
)

export interface Notice {
  id: string
  level: string
  message: string
  number: string | null
  ticketId: string | null
  createdAt: string
  readAt: string | null
}

const noticeFields = 'id level message number ticketId createdAt readAt'

export const NOTICES = doc<
  { unreadNotices: number; notices: { edges: { node: Notice }[]; pageInfo: PageInfo } },
  { first: number; after?: string | null; unread?: boolean }
>(`query Notices($first: Int, $after: String, $unread: Boolean) {
  unreadNotices
  notices(first: $first, after: $after, unread: $unread) { edges { node { ${noticeFields} } } pageInfo { endCursor hasNextPage } }
}`)

export const MARK_NOTICES_READ = doc<{ markNoticesRead: number }, { ids?: string[]; all?: boolean }>(
  `mutation MarkNoticesRead($ids: [ID!], $all: Boolean) { markNoticesRead(ids: $ids, all: $all) }`,
)

export const NOTICES_LIVE = doc<{ notices: Notice }>(`subscription NoticesLive { notices { ${noticeFields} } }`)
