import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { setAuth } from './graphql/client'
import { makeRouter } from './router'
import { useSession } from './stores/session'
import './style.css'
// ElMessage, ElMessageBox and ElNotification are called, not placed in
// templates, so the on-demand import does not see them: their styles are
// loaded once here (and not in the unit tests, which have no layout).
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import 'element-plus/es/components/notification/style/css'

const app = createApp(App)
app.use(createPinia())
const router = makeRouter()
const session = useSession()
setAuth({
  token: () => session.token,
  // The server refused the session: back to the login page, which returns
  // here afterwards.
  expired: () => {
    const here = router.currentRoute.value
    session.expire()
    if (here.name !== 'login') router.replace({ name: 'login', query: { redirect: here.fullPath } })
  },
})
app.use(router).mount('#app')
