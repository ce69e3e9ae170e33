import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// vmm-client is the npm workspace ../wasm-client (linked into the root node_modules). Vite handles
// its `new URL('vmm_client_bg.wasm', import.meta.url)` by itself: no wasm plugin is needed, and the
// dev server may read it because it lies inside the workspace root.
export default defineConfig({
  plugins: [vue()],
  optimizeDeps: {
    // Served as is in dev, so that the .wasm URL stays next to its JS glue.
    exclude: ['vmm-client'],
  },
  build: {
    target: 'es2022',
  },
});
