import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// vmm-client is a `file:` dependency: npm links it to ../wasm-client/pkg. Vite handles its
// `new URL('vmm_client_bg.wasm', import.meta.url)` by itself; no wasm plugin is needed.
export default defineConfig({
  plugins: [vue()],
  resolve: {
    // The linked package lives outside node_modules: make its `import 'vue'` use our copy.
    dedupe: ['vue'],
  },
  optimizeDeps: {
    // Served as is in dev, so that the .wasm URL stays next to its JS glue.
    exclude: ['vmm-client'],
  },
  server: {
    fs: {
      // The dev server may read the linked package (and the wasm) in ../wasm-client/pkg.
      allow: [fileURLToPath(new URL('.', import.meta.url)), fileURLToPath(new URL('../wasm-client/pkg', import.meta.url))],
    },
  },
  build: {
    target: 'es2022',
  },
});
