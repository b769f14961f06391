// GraphQL documents of the administrators' pages: accounts, organisation,
// configuration and the audit log. Typed by hand against
// schema/graphql/schema.graphql like documents.ts.
import { doc } from './client'
import type { PageInfo } from './documents'

export interface RoleDef {
  name: string
  label: string
  description: string
  scope: string
}

export const ROLES = doc<{ roles: RoleDef[] }>(`query Roles { roles { name label description scope } }`)

export interface UnitNode {
  id: string
  code: string
  name: string
  kind: string
  active: boolean
  sort: number
  depth: number
  parent: { id: string; name: string } | null
}

const unitFields = 'id code name kind active sort depth parent { id name }'

export interface UnitsPage {
  units: { edges: { node: UnitNode & { children: { id: string }[] } }[]; pageInfo: PageInfo }
}

export const UNITS = doc<
  UnitsPage,
  { parentId?: string | null; search?: string | null; first: number; after?: string | null }
>(`query Units($parentId: ID, $search: String, $first: Int, $after: String) {
  units(parentId: $parentId, search: $search, first: $first, after: $after) {
    edges { node { ${unitFields} children(first: 1) { id } } }
    pageInfo { endCursor hasNextPage }
  }
}`)

export interface UnitInput {
  code?: string
  name?: string
  kind?: string
  parentId?: string | null
  sort?: number
  active?: boolean
}

export const CREATE_UNIT = doc<{ createUnit: UnitNode }, { input: UnitInput }>(
  `mutation CreateUnit($input: UnitInput!) { createUnit(input: $input) { ${unitFields} } }`,
)

export const UPDATE_UNIT = doc<{ updateUnit: UnitNode }, { id: string; input: UnitInput }>(
  `mutation UpdateUnit($id: ID!, $input: UnitInput!) { updateUnit(id: $id, input: $input) { ${unitFields} } }`,
)

export interface Account {
  id: string
  username: string
  displayName: string
  phone: string
  roles: string[]
  level: number
  disabled: boolean
  lockedUntil: string | null
  mustChangePassword: boolean
  unit: { id: string; name: string }
}

const accountFields = 'id username displayName phone roles level disabled lockedUntil mustChangePassword unit { id name }'

export const USERS = doc<
  { users: { edges: { node: Account }[]; pageInfo: PageInfo } },
  { search?: string | null; unitId?: string | null; subunits?: boolean; role?: string | null; first: number; after?: string | null }
>(`query Users($search: String, $unitId: ID, $subunits: Boolean, $role: String, $first: Int, $after: String) {
  users(search: $search, unitId: $unitId, subunits: $subunits, role: $role, first: $first, after: $after) {
    edges { node { ${accountFields} } }
    pageInfo { endCursor hasNextPage }
  }
}`)

export interface UserInput {
  username?: string
  displayName?: string
  phone?: string
  unitId?: string
  roles?: string[]
  level?: number
  disabled?: boolean
  password?: string
}

export const CREATE_USER = doc<{ createUser: { temporaryPassword: string | null; user: Account } }, { input: UserInput }>(
  `mutation CreateUser($input: UserInput!) { createUser(input: $input) { temporaryPassword user { ${accountFields} } } }`,
)

export const UPDATE_USER = doc<{ updateUser: Account }, { id: string; input: UserInput }>(
  `mutation UpdateUser($id: ID!, $input: UserInput!) { updateUser(id: $id, input: $input) { ${accountFields} } }`,
)

export const RESET_PASSWORD = doc<{ resetPassword: { temporaryPassword: string | null; user: Account } }, { id: string }>(
  `mutation ResetPassword($id: ID!) { resetPassword(id: $id) { temporaryPassword user { ${accountFields} } } }`,
)

export const UNLOCK_USER = doc<{ unlockUser: Account }, { id: string }>(
  `mutation UnlockUser($id: ID!) { unlockUser(id: $id) { ${accountFields} } }`,
)

export interface ConfigVersion {
  kind: string
  name: string
  version: number
  active: boolean
  path: string
  note: string
  digest: string
  createdAt: string
  createdBy: string
  source?: string
}

export interface ConfigKindDef {
  name: string
  description: string
}

export const CONFIG_DOCUMENTS = doc<{ configDocuments: ConfigVersion[]; configKinds: ConfigKindDef[] }>(
  `query ConfigDocuments { configDocuments { kind name version active path note digest createdAt createdBy } configKinds { name description } }`,
)

export const CONFIG_VERSIONS = doc<{ configVersions: ConfigVersion[] }, { kind: string; name: string }>(
  `query ConfigVersions($kind: String!, $name: String!) {
  configVersions(kind: $kind, name: $name) { kind name version active path note digest createdAt createdBy source }
}`,
)

export const CONFIG_DIFF = doc<{ configDiff: string }, { kind: string; name: string; from: number; to: number }>(
  `query ConfigDiff($kind: String!, $name: String!, $from: Int!, $to: Int!) { configDiff(kind: $kind, name: $name, from: $from, to: $to) }`,
)

export interface ConfigProblem {
  file: string
  line: number
  col: number
  message: string
  text: string
}

export interface ConfigResult {
  ok: boolean
  problems: ConfigProblem[]
  changes: { kind: string; name: string; version: number; status: string }[]
}

export const PUBLISH_CONFIG = doc<{ publishConfig: ConfigResult }, { kind: string; name: string; source: string; note?: string }>(
  `mutation PublishConfig($kind: String!, $name: String!, $source: String!, $note: String) {
  publishConfig(kind: $kind, name: $name, source: $source, note: $note) { ok problems { file line col message text } changes { kind name version status } }
}`,
)

export interface AuditEntry {
  id: string
  at: string
  actor: string
  action: string
  targetType: string
  targetId: string
  remoteAddr: string
  before: unknown
  after: unknown
  details: unknown
}

export const AUDIT_LOG = doc<
  { auditLog: { edges: { node: AuditEntry }[]; pageInfo: PageInfo } },
  { actor?: string | null; action?: string | null; targetType?: string | null; from?: string | null; to?: string | null; first: number; after?: string | null }
>(`query AuditLog($actor: String, $action: String, $targetType: String, $from: Time, $to: Time, $first: Int, $after: String) {
  auditLog(actor: $actor, action: $action, targetType: $targetType, from: $from, to: $to, first: $first, after: $after) {
    edges { node { id at actor action targetType targetId remoteAddr before after details } }
    pageInfo { endCursor hasNextPage }
  }
}`)
