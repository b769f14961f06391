/// <reference types="vitest/config" />
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// precompress writes NAME.br and NAME.gz beside every text asset, so the Go
// server (ui/serve.go) sends compressed bytes without compressing per
// request and without a brotli dependency in Go.
function precompress(): Plugin {
  return {
    name: 'hotline-precompress',
    apply: 'build',
    // writeBundle: the files as written, after every plugin's last
    // rewrite of them (Vite fills in its preload lists in generateBundle).
    writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist'
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg|json|txt|map)$/.test(name)) continue
        const path = join(dir, name)
        const buf = readFileSync(path)
        if (buf.length < 1024) continue
        writeFileSync(path + '.gz', gzipSync(buf, { level: 9 }))
        writeFileSync(path + '.br', brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }))
      }
    },
  }
}

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components and their styles are imported where a
    // template uses them, so the login page does not load the whole library.
    // Under vitest no CSS: happy-dom lays nothing out, and transforming
    // each component's stylesheet was most of the unit tests' time.
    Components({ resolvers: [ElementPlusResolver({ importStyle: process.env.VITEST ? false : 'css' })], dts: false }),
    precompress(),
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    // Element Plus's component styles go into one stylesheet: imported
    // per component they were some forty small CSS files and their JS
    // loaders, which a cold page fetched six at a time (HTTP/1.1), its
    // GraphQL requests queued behind them. One file of all of them is
    // 29 KB compressed; the login page gets 17 KB more and loads faster
    // (18 files, not 22), the auditor's page cold 1.5 s -> 1.4 s. One
    // chunk of all Element Plus JS was tried: 199 KB compressed on the
    // login page, and both pages slower.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [{ name: 'element-plus-style', test: /[\\/]element-plus[\\/](es[\\/]components[\\/][^\\/]+[\\/]style|theme-chalk)[\\/]/ }],
        },
      },
    },
  },
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8080', ws: true },
      '/attachments': 'http://127.0.0.1:8080',
      '/exports': 'http://127.0.0.1:8080',
      '/recordings': 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    // The test files share one module graph per worker instead of each
    // loading Vue, Element Plus and happy-dom again (62 s to 18 s on two
    // cores). Each test sets up what it relies on: a fresh Pinia
    // (setActivePinia), a fake server (vi.stubGlobal, unstubbed after).
    isolate: false,
  },
})
