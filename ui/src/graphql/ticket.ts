// The GraphQL documents of the ticket page: one ticket with its events,
// branches and the actions the user may take (refused ones with their
// reason), the calls and knowledge bound to it, the dispatch suggestions,
// the action itself and the ticket's live changes. Typed by hand against
// schema/graphql/schema.graphql.
import { doc } from './client'

export interface TicketAction {
  name: string
  label: string
  form: string | null
  required: string[]
  // choices are the values some fields may take for this action now.
  choices: Record<string, unknown>
  // refusal is why a guard refuses the action now; null when it may run.
  refusal: string | null
}

export interface TicketEvent {
  action: string
  actionLabel: string
  actor: string
  at: string
  form: string | null
  fromState: string
  toState: string
  toStateLabel: string
  input: Record<string, unknown> | null
  onTime: boolean | null
  stepDue: string | null
  unit: string | null
}

export interface TicketBranch {
  id: string
  unitCode: string
  unitName: string
  state: string
  deadline: string | null
  doneAt: string | null
  result: Record<string, unknown> | null
}

// A TicketLink is a relation to another ticket as the flow's link effect
// made it (merge, urge, related), seen from this ticket; ticket is null
// when the other one is outside the user's scope.
export interface TicketLink {
  relation: string
  outgoing: boolean
  label: string
  at: string
  ticket: { id: string; number: string; stateLabel: string; fields: Record<string, unknown> } | null
}

export interface TicketDetail {
  id: string
  number: string
  flow: string
  state: string
  stateLabel: string
  version: number
  fields: Record<string, unknown>
  inputs: Record<string, unknown>
  deadline: string | null
  stepDeadline: string | null
  stepLimit: string | null
  createdAt: string
  closedAt: string | null
  creator: string
  holder: { unitCode: string | null; unitName: string | null; user: string | null }
  branches: TicketBranch[]
  events: TicketEvent[]
  availableActions: TicketAction[]
  links: TicketLink[]
}

export const ticketFields = `id number flow state stateLabel version fields inputs deadline stepDeadline stepLimit createdAt closedAt creator
  holder { unitCode unitName user }
  branches { id unitCode unitName state deadline doneAt result }
  events { action actionLabel actor at form fromState toState toStateLabel input onTime stepDue unit }
  availableActions(refused: true) { name label form required choices refusal }
  links { relation outgoing label at ticket { id number stateLabel fields } }`

export const TICKET = doc<{ ticket: TicketDetail }, { id: string }>(`query Ticket($id: ID!) { ticket(id: $id) { ${ticketFields} } }`)

export const PERFORM_ACTION = doc<
  { performAction: TicketDetail },
  { ticketId: string; action: string; input: Record<string, unknown>; expectedVersion: number }
>(`mutation PerformAction($ticketId: ID!, $action: String!, $input: JSON, $expectedVersion: Int) {
  performAction(ticketId: $ticketId, action: $action, input: $input, expectedVersion: $expectedVersion) { ${ticketFields} }
}`)

export interface TicketCall {
  id: string
  caller: string
  agent: string
  startedAt: string
  endedAt: string | null
  recording: string
  recordingBytes: number
}

export interface KnowledgeCitation {
  version: number
  citedBy: string
  article: { id: string; title: string }
}

// TICKET_EXTRAS are what a ticket page shows beside the ticket; each may
// be refused on its own (a role without call records), so they are asked
// apart from the ticket.
export const TICKET_CALLS = doc<{ calls: { edges: { node: TicketCall }[] } }, { ticket: string }>(
  `query TicketCalls($ticket: ID) { calls(ticket: $ticket, first: 20) { edges { node { id caller agent startedAt endedAt recording recordingBytes } } } }`,
)

export const KNOWLEDGE_CITATIONS = doc<{ knowledgeCitations: KnowledgeCitation[] }, { ticketId: string }>(
  `query KnowledgeCitations($ticketId: ID!) { knowledgeCitations(ticketId: $ticketId) { version citedBy article { id title } } }`,
)

export interface UnitSuggestion {
  unitCode: string
  unitName: string
  reason: string
  category: string
}

export const SUGGEST_UNITS = doc<{ suggestUnits: UnitSuggestion[] }, { ticket: string }>(
  `query SuggestUnits($ticket: ID) { suggestUnits(ticket: $ticket) { unitCode unitName reason category } }`,
)

export interface TicketChange {
  ticketId: string
  action: string
  from: string
  to: string
  version: number
}

export const TICKET_CHANGED = doc<{ ticketChanged: TicketChange }, { ticket: string }>(
  `subscription TicketChanged($ticket: ID!) { ticketChanged(ticket: $ticket) { ticketId action from to version } }`,
)
