import { createRouter, createWebHistory } from 'vue-router'

export const router = createRouter({
  history: createWebHistory(),
  routes: [{ path: '/:any(.*)*', component: () => import('./views/LoginView.vue') }],
})
