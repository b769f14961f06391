// The telephony documents: the agent's phone bar and screen pop, and the
// team leader's wallboard. Typed by hand against schema/graphql (see
// documents.ts).
import { doc } from './client'

export interface Agent {
  userId: string
  username: string
  displayName: string
  extension: string
  state: string
  stateLabel: string
  reason: string
  since: string
  // task is the SIP Call-ID of the call ringing or held, '' when none.
  task: string
}

const agentFields = 'userId username displayName extension state stateLabel reason since task'

// AgentStateDef is a state of flows/agent_states.yaml; category is what
// the distributor understands (signed_out, idle, busy, break, wrapup,
// reserved, talking), the one thing the UI may reason about.
export interface AgentStateDef {
  name: string
  label: string
  category: string
  manual: boolean
  reasons: string[]
  maxSeconds: number | null
}

export interface QueueStatus {
  name: string
  label: string
  waiting: number
  idle: number
  signedIn: number
  waitingSince: string | null
}

const queueFields = 'name label waiting idle signedIn waitingSince'

export const MY_AGENT = doc<{ myAgent: Agent }>(`query MyAgent { myAgent { ${agentFields} } }`)

export const PHONE_SETUP = doc<{ agentStates: AgentStateDef[]; myQueues: QueueStatus[] }>(`query PhoneSetup {
  agentStates { name label category manual reasons maxSeconds }
  myQueues { ${queueFields} }
}`)

export const MY_AGENT_LIVE = doc<{ myAgentLive: Agent }>(`subscription MyAgentLive { myAgentLive { ${agentFields} } }`)
export const MY_QUEUES_LIVE = doc<{ myQueuesLive: QueueStatus[] }>(`subscription MyQueuesLive { myQueuesLive { ${queueFields} } }`)

export const AGENT_SIGN_IN = doc<{ agentSignIn: Agent }>(`mutation AgentSignIn { agentSignIn { ${agentFields} } }`)
export const AGENT_SIGN_OUT = doc<{ agentSignOut: Agent }>(`mutation AgentSignOut { agentSignOut { ${agentFields} } }`)
export const SET_AGENT_STATE = doc<{ setAgentState: Agent }, { state: string; reason: string }>(
  `mutation SetAgentState($state: String!, $reason: String) { setAgentState(state: $state, reason: $reason) { ${agentFields} } }`,
)

export const DIAL = doc<{ dial: string }, { number: string }>(`mutation Dial($number: String!) { dial(number: $number) }`)

export interface TransferTarget {
  queue?: string
  extension?: string
  number?: string
}

export const TRANSFER_CALL = doc<{ transferCall: boolean }, TransferTarget & { call: string }>(
  `mutation TransferCall($call: ID!, $queue: String, $extension: String, $number: String) {
  transferCall(call: $call, queue: $queue, extension: $extension, number: $number)
}`,
)

export interface PopCall {
  id: string
  sipCallId: string
  caller: string
  called: string
  ivrPath: string[]
  // ivrPathLabels: the same nodes as the menu labels them.
  ivrPathLabels: string[]
  startedAt: string
}

export interface PopTicket {
  id: string
  number: string
  title: string
  state: string
  createdAt: string
}

export interface ScreenPop {
  call: PopCall
  // state is the agent's state name: a reserved (ringing) or talking one.
  state: string
  vars: Record<string, unknown>
  inTransit: PopTicket[]
  recentCalls: number
}

export const SCREEN_POP = doc<{ screenPop: ScreenPop }>(`subscription ScreenPop {
  screenPop {
    call { id sipCallId caller called ivrPath ivrPathLabels startedAt }
    state vars recentCalls
    inTransit { id number title state createdAt }
  }
}`)

// The leader's wallboard.

export const AGENTS_LIVE = doc<{ agentsLive: Agent[] }>(`subscription AgentsLive { agentsLive { ${agentFields} } }`)
export const QUEUES_LIVE = doc<{ queuesLive: QueueStatus[] }>(`subscription QueuesLive { queuesLive { ${queueFields} } }`)

export const AGENT_STATES = doc<{ agentStates: AgentStateDef[] }>(
  `query AgentStates { agentStates { name label category manual reasons maxSeconds } }`,
)

export interface CallMeasures {
  calls: number
  offered: number
  answered: number
  abandoned: number
  serviceLevel: number | null
  abandonRate: number | null
  maxWaitSeconds: number | null
}

export const CALL_STATS = doc<{ callStats: { overall: CallMeasures } }, { from: string; to: string }>(
  `query CallStats($from: Time!, $to: Time!) {
  callStats(from: $from, to: $to) { overall { calls offered answered abandoned serviceLevel abandonRate maxWaitSeconds } }
}`,
)

export interface LiveCall {
  id: string
  sipCallId: string
  caller: string
  connectedAt: string | null
}

export const LIVE_CALLS = doc<{ calls: { edges: { node: LiveCall }[] } }>(
  `query LiveCalls { calls(live: true, first: 1000) { edges { node { id sipCallId caller connectedAt } } } }`,
)

export const FORCE_AGENT_STATE = doc<{ forceAgentState: Agent }, { userId: string; state: string; reason: string }>(
  `mutation ForceAgentState($userId: ID!, $state: String!, $reason: String) {
  forceAgentState(userId: $userId, state: $state, reason: $reason) { ${agentFields} }
}`,
)

export type MonitorMode = 'LISTEN' | 'WHISPER' | 'BARGE'

export const MONITOR_CALL = doc<{ monitorCall: boolean }, { call: string; mode: MonitorMode }>(
  `mutation MonitorCall($call: ID!, $mode: MonitorMode!) { monitorCall(call: $call, mode: $mode) }`,
)

export const RELEASE_CALL = doc<{ releaseCall: boolean }, { call: string }>(`mutation ReleaseCall($call: ID!) { releaseCall(call: $call) }`)
