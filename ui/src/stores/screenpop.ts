// The screen pop (来电弹屏): what the screenPop subscription pushes when a
// call rings the agent's phone and again when he answers — the caller's
// number, the menu path and choices, the number's calls of the last 7
// days and its tickets still open. The pop stays until the agent closes
// it or the next call comes.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { RouteLocationRaw } from 'vue-router'
import { subscribe, type GqlError } from '../graphql/client'
import { SCREEN_POP, type ScreenPop } from '../graphql/phone'
import type { Workbench } from '../graphql/documents'

// registerPage is the workbench page the registration form lives on; the
// pop opens the user's first entry of it, pre-filled from the call.
export const registerPage = 'register'

// registerLink is where the pop's button goes: the first menu entry of
// the registration page, with the caller's number and the call's SIP
// Call-ID (what the form's call binding names) in the query; null when
// no workbench of the user has such a page.
export function registerLink(menus: Workbench[], pop: ScreenPop): RouteLocationRaw | null {
  for (const w of menus) {
    const e = w.menu.find((x) => x.page === registerPage)
    if (e) return { name: 'entry', params: { bench: w.name, entry: e.name }, query: { caller: pop.call.caller, call: pop.call.sipCallId } }
  }
  return null
}

export const useScreenPop = defineStore('screenpop', () => {
  const pop = ref<ScreenPop | null>(null)
  const open = ref(false)
  const error = ref<GqlError | null>(null)
  let stop: (() => void) | null = null

  // arrived takes a push: a new call opens the pop; the same call's next
  // state (ringing, then answered) updates it and opens it again; a
  // repeat of what is shown (a reconnect) changes nothing.
  function arrived(p: ScreenPop) {
    const cur = pop.value
    if (cur && cur.call.id === p.call.id && cur.state === p.state) return
    pop.value = p
    open.value = true
  }

  function close() {
    open.value = false
  }

  function start() {
    if (!stop) stop = subscribe(SCREEN_POP, {}, (d) => arrived(d.screenPop), (e) => (error.value = e))
  }

  function end() {
    stop?.()
    stop = null
    pop.value = null
    open.value = false
  }

  return { pop, open, error, arrived, close, start, end }
})
