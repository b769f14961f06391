// The signed-in user's menus (myWorkbench: configuration under
// flows/workbench/) and to-do counts (myWork) for the menu badges.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { request } from '../graphql/client'
import { MY_WORKBENCH, type Work, type Workbench, type WorkbenchEntry } from '../graphql/documents'

export const useWorkbench = defineStore('workbench', () => {
  const menus = ref<Workbench[]>([])
  const work = ref<Work | null>(null)
  const loaded = ref(false)

  // One request at a time: a load asked for while one is on its way (the
  // router's head start, the shell's own, a notice's refresh) shares it.
  let pending: Promise<void> | null = null
  // gen counts clears: the answer of a load from before one (the last
  // user's) is dropped.
  let gen = 0
  function load(): Promise<void> {
    if (pending) return pending
    const my = gen
    const p: Promise<void> = request(MY_WORKBENCH)
      .then((r) => {
        if (my !== gen) return
        menus.value = r.myWorkbench
        work.value = r.myWork
        loaded.value = true
      })
      .finally(() => {
        if (pending === p) pending = null
      })
    pending = p
    return p
  }

  function clear() {
    gen++
    pending = null
    menus.value = []
    work.value = null
    loaded.value = false
  }

  function find(bench: string, entry: string): WorkbenchEntry | undefined {
    return menus.value.find((w) => w.name === bench)?.menu.find((e) => e.name === entry)
  }

  // count is how many of the user's to-dos a ticket list holds, from
  // myWork; undefined for pages that are not such a list.
  function count(e: WorkbenchEntry): number | undefined {
    const w = work.value
    if (!w || e.page !== 'tickets') return undefined
    const states = w.states.filter((s) => (!e.flow || s.flow === e.flow) && (!e.state || s.state === e.state))
    const sum = (pick: (s: (typeof states)[number]) => number) => states.reduce((n, s) => n + pick(s), 0)
    switch (e.due) {
      case 'overdue':
        return sum((s) => s.overdue)
      case 'near':
        return sum((s) => s.nearDue)
      case 'step_overdue':
        return sum((s) => s.stepOverdue)
      default:
        return sum((s) => s.count)
    }
  }

  return { menus, work, loaded, load, clear, find, count }
})

// A MenuItem is what a workbench's menu shows at its top level: an entry,
// or a group of consecutive entries folded under their heading.
export type MenuItem = { entry: WorkbenchEntry } | { group: string; entries: WorkbenchEntry[] }

// menuItems folds a menu's consecutive entries of one group into one item
// (the lint keeps a group's entries together), in the menu's order.
export function menuItems(menu: WorkbenchEntry[]): MenuItem[] {
  const out: MenuItem[] = []
  for (const e of menu) {
    const prev = out[out.length - 1]
    if (e.group && prev && 'group' in prev && prev.group === e.group) prev.entries.push(e)
    else if (e.group) out.push({ group: e.group, entries: [e] })
    else out.push({ entry: e })
  }
  return out
}
