// The wallboard's arithmetic, apart from the page so it is tested alone.
import type { AgentStateDef } from './graphql/phone'
import { signedOutCategory } from './stores/phone'

// forcible lists the states a leader may force an agent into, as the
// server allows them (core/acd Force): the self-selectable ones and
// signing out.
export function forcible(states: AgentStateDef[]): AgentStateDef[] {
  return states.filter((s) => s.manual || s.category === signedOutCategory)
}

// percent writes a 0–1 rate as a percentage with one decimal; — when
// there is none (no calls offered yet today).
export function percent(r: number | null | undefined): string {
  if (r === null || r === undefined || Number.isNaN(r)) return '—'
  return (r * 100).toFixed(1) + '%'
}

// today is [local midnight, next local midnight) of the day of now, as
// callStats takes it.
export function today(now: Date): { from: string; to: string } {
  const from = new Date(now.getFullYear(), now.getMonth(), now.getDate())
  const to = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1)
  return { from: from.toISOString(), to: to.toISOString() }
}
