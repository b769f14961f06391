// The signed-in session: the token (kept in localStorage so a reload stays
// signed in), who the user is, and what to do when the server stops
// accepting the token (expired, revoked): forget it and send the user to
// the login page, which brings them back to where they were.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { request, resetSubscriptions } from '../graphql/client'
import { CHANGE_PASSWORD, LOGIN, LOGOUT, ME, type Me } from '../graphql/documents'

export const tokenKey = 'hotline.token'

export const useSession = defineStore('session', () => {
  const token = ref<string | null>(localStorage.getItem(tokenKey))
  const me = ref<Me | null>(null)
  // expired is set when the server refused the token mid-session, so the
  // login page can say why the user is there.
  const expired = ref(false)

  const signedIn = computed(() => token.value !== null)
  const mustChangePassword = computed(() => me.value?.mustChangePassword === true)

  function setToken(t: string | null) {
    token.value = t
    if (t) localStorage.setItem(tokenKey, t)
    else localStorage.removeItem(tokenKey)
    resetSubscriptions()
  }

  async function login(username: string, password: string) {
    const { login } = await request(LOGIN, { username, password })
    expired.value = false
    setToken(login.token)
    me.value = login.me
    return login.me
  }

  async function loadMe() {
    const r = await request(ME)
    me.value = r.me
    return r.me
  }

  async function changePassword(oldPassword: string, newPassword: string) {
    await request(CHANGE_PASSWORD, { oldPassword, newPassword })
    await loadMe()
  }

  async function logout() {
    try {
      if (token.value) await request(LOGOUT)
    } finally {
      forget()
    }
  }

  function forget() {
    setToken(null)
    me.value = null
  }

  // expire is called by the client when a signed-in request comes back
  // UNAUTHENTICATED.
  function expire() {
    forget()
    expired.value = true
  }

  return { token, me, expired, signedIn, mustChangePassword, login, loadMe, changePassword, logout, forget, expire }
})
