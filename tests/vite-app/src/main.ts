import { createApp } from 'vue';
import { createVmm } from 'vmm-client/vue';
import App from './App.vue';

createApp(App)
  .use(
    createVmm({
      url: import.meta.env.VITE_VMM_URL ?? 'ws://127.0.0.1:9001',
      prefix: import.meta.env.VITE_VMM_PREFIX ?? 'vmm',
      clientId: `web-${crypto.randomUUID()}`,
    }),
  )
  .mount('#app');
