// The agent's soft-phone bar: his state (myAgent, kept live by
// myAgentLive: a leader's forcing, ringing, talking, wrap-up ending by
// itself), the states he may choose (agentStates: the self-selectable
// ones with their reasons, from flows/agent_states.yaml), the waiting
// count of the queues that may offer him calls (myQueuesLive), and the
// calls he makes or passes on. A user is an agent when myAgent answers
// (he has an extension); for anyone else the bar stays hidden.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { GqlError, request, subscribe } from '../graphql/client'
import {
  AGENT_SIGN_IN,
  AGENT_SIGN_OUT,
  DIAL,
  MY_AGENT,
  MY_AGENT_LIVE,
  MY_QUEUES_LIVE,
  PHONE_SETUP,
  SET_AGENT_STATE,
  TRANSFER_CALL,
  type Agent,
  type AgentStateDef,
  type QueueStatus,
  type TransferTarget,
} from '../graphql/phone'

// Categories of agent states the kernel defines (core/acd), not states of
// a configuration: what the bar may reason about.
export const signedOutCategory = 'signed_out'
export const ringingCategory = 'reserved'
export const talkingCategory = 'talking'

// categoryTag is the tag colour of a state by its category.
const tagTypes: Record<string, 'success' | 'warning' | 'danger' | 'info' | 'primary'> = {
  idle: 'success',
  busy: 'warning',
  break: 'warning',
  wrapup: 'info',
  [ringingCategory]: 'danger',
  [talkingCategory]: 'primary',
  [signedOutCategory]: 'info',
}
export function categoryTag(category: string): 'success' | 'warning' | 'danger' | 'info' | 'primary' {
  return tagTypes[category] ?? 'info'
}

// Choice is one entry of the state menu: a state, with one of its reasons
// when it has some.
export interface Choice {
  state: string
  reason: string
  label: string
}

// choices lists what the agent may pick now: each self-selectable state,
// once per reason when it asks for one, without the one he is in.
export function choices(states: AgentStateDef[], agent: { state: string; reason: string } | null): Choice[] {
  const out: Choice[] = []
  for (const s of states) {
    if (!s.manual || s.category === signedOutCategory) continue
    if (s.reasons.length === 0) {
      if (agent?.state !== s.name) out.push({ state: s.name, reason: '', label: s.label })
      continue
    }
    for (const r of s.reasons) {
      if (agent?.state !== s.name || agent.reason !== r) out.push({ state: s.name, reason: r, label: `${s.label} · ${r}` })
    }
  }
  return out
}

// elapsed is the whole seconds from since until now (never negative: the
// browser's clock may run a little behind the server's).
export function elapsed(since: string | null | undefined, now: number): number {
  if (!since) return 0
  const t = Date.parse(since)
  if (Number.isNaN(t)) return 0
  return Math.max(0, Math.floor((now - t) / 1000))
}

// clock writes seconds as m:ss, or h:mm:ss from an hour on.
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

// left is how many seconds a state with a limit (wrap-up, a break) has
// before it ends by itself; null for states without one.
export function left(def: AgentStateDef | undefined, since: string | null | undefined, now: number): number | null {
  if (!def?.maxSeconds) return null
  return Math.max(0, def.maxSeconds - elapsed(since, now))
}

export const usePhone = defineStore('phone', () => {
  const agent = ref<Agent | null>(null)
  const states = ref<AgentStateDef[]>([])
  const queues = ref<QueueStatus[]>([])
  // isAgent: myAgent answered. Known only after start().
  const isAgent = ref(false)
  const error = ref<GqlError | null>(null)
  const busy = ref(false)
  let stops: (() => void)[] = []

  const def = computed(() => states.value.find((s) => s.name === agent.value?.state))
  const category = computed(() => def.value?.category ?? '')
  const signedIn = computed(() => !!agent.value && category.value !== signedOutCategory)
  const options = computed(() => choices(states.value, agent.value))
  const waiting = computed(() => queues.value.reduce((n, q) => n + q.waiting, 0))
  // onCall: the agent's phone rings or he talks; task names the call.
  const onCall = computed(() => !!agent.value?.task && (category.value === ringingCategory || category.value === talkingCategory))

  function categoryOf(state: string): string {
    return states.value.find((s) => s.name === state)?.category ?? ''
  }

  // take keeps the newer of two views of the agent (a mutation's answer
  // and a push may cross).
  function take(a: Agent) {
    if (agent.value && agent.value.userId === a.userId && Date.parse(a.since) < Date.parse(agent.value.since)) return
    agent.value = a
  }

  // start finds out whether the user is an agent and, if so, loads the
  // bar and keeps it live. A user without an extension gets a field error
  // on myAgent: not an error to show.
  async function start() {
    error.value = null
    let a: Agent
    try {
      a = (await request(MY_AGENT)).myAgent
    } catch (e) {
      isAgent.value = false
      if (e instanceof GqlError && e.code === 'BAD_USER_INPUT') return
      error.value = e instanceof GqlError ? e : new GqlError('INTERNAL', String(e))
      return
    }
    isAgent.value = true
    agent.value = a
    const r = await request(PHONE_SETUP)
    states.value = r.agentStates
    queues.value = r.myQueues
    if (stops.length === 0) {
      stops = [
        subscribe(MY_AGENT_LIVE, {}, (d) => take(d.myAgentLive), (e) => (error.value = e)),
        subscribe(MY_QUEUES_LIVE, {}, (d) => (queues.value = d.myQueuesLive), (e) => (error.value = e)),
      ]
    }
  }

  function end() {
    for (const s of stops) s()
    stops = []
    agent.value = null
    isAgent.value = false
    queues.value = []
  }

  async function act<T>(fn: () => Promise<T>): Promise<T> {
    busy.value = true
    error.value = null
    try {
      return await fn()
    } catch (e) {
      error.value = e instanceof GqlError ? e : new GqlError('INTERNAL', String(e))
      throw error.value
    } finally {
      busy.value = false
    }
  }

  const signIn = () => act(async () => take((await request(AGENT_SIGN_IN)).agentSignIn))
  const signOut = () => act(async () => take((await request(AGENT_SIGN_OUT)).agentSignOut))
  const choose = (c: { state: string; reason: string }) =>
    act(async () => take((await request(SET_AGENT_STATE, { state: c.state, reason: c.reason })).setAgentState))
  const dial = (number: string) => act(async () => (await request(DIAL, { number })).dial)
  // transfer passes the call (its calls row id, from the screen pop) on.
  const transfer = (call: string, to: TransferTarget) => act(async () => (await request(TRANSFER_CALL, { call, ...to })).transferCall)

  return { agent, states, queues, isAgent, error, busy, def, category, signedIn, options, waiting, onCall, categoryOf, take, start, end, signIn, signOut, choose, dial, transfer }
})
