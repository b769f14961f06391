import { createRouter, createWebHistory, type RouteRecordNormalized, type Router } from 'vue-router'
import { useSession } from './stores/session'
import { useWorkbench } from './stores/workbench'

export function makeRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
      { path: '/password', name: 'password', component: () => import('./views/PasswordView.vue') },
      {
        path: '/',
        component: () => import('./views/AppLayout.vue'),
        children: [
          { path: '', name: 'home', component: () => import('./views/HomeView.vue') },
          { path: 'w/:bench/:entry', name: 'entry', component: () => import('./views/EntryView.vue'), props: true },
          { path: 'k/:id', name: 'knowledge-article', component: () => import('./views/ArticleView.vue'), props: true },
          { path: 't/:id', name: 'ticket', component: () => import('./views/TicketView.vue'), props: true },
          { path: ':rest(.*)*', name: 'missing', component: () => import('./views/MissingView.vue') },
        ],
      },
    ],
  })

  // Pages need a session; a user who must change their password can do
  // nothing else first. Each redirect to the login page carries the page
  // asked for, which the login page returns to.
  router.beforeEach(async (to) => {
    const session = useSession()
    if (to.meta.public) return true
    if (!session.signedIn) return { name: 'login', query: { redirect: to.fullPath } }
    if (!session.me) {
      // The router loads a lazy page only after its guards: start the
      // page's code loading now, beside the session's query, rather than
      // after it (the browser keeps the one module either way).
      preload(to.matched)
      // The menu is the next query every page makes: ask it beside the
      // session's, not after the layout has loaded.
      useWorkbench()
        .load()
        .catch(() => {}) // the layout shows its error and retries
      try {
        await session.loadMe()
      } catch {
        if (!session.signedIn) return { name: 'login', query: { redirect: to.fullPath } }
        return true // the page shows the error and can retry
      }
    }
    if (session.mustChangePassword && to.name !== 'password') return { name: 'password', query: { redirect: to.fullPath } }
    return true
  })
  return router
}

function preload(records: RouteRecordNormalized[]) {
  for (const r of records) {
    const c = r.components?.default
    if (typeof c === 'function') (c as () => Promise<unknown>)().catch(() => {})
  }
}

// safeRedirect keeps a redirect inside the app (a path, not a URL).
export function safeRedirect(r: unknown): string {
  return typeof r === 'string' && r.startsWith('/') && !r.startsWith('//') ? r : '/'
}
