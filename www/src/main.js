import { createApp } from 'vue';
import { createVmm } from 'vmm-client/vue';
import App from './App.vue';
import { readConfig } from './config.js';
import { CONFIG_KEY, createNotices, NOTICES_KEY } from './notices.js';
import './style.css';

const config = readConfig();
const notices = createNotices();
const vmm = createVmm({
  url: config.url,
  clientId: config.clientId,
  prefix: config.prefix,
  collections: [config.board],
});

const app = createApp(App);
app.provide(CONFIG_KEY, config);
app.provide(NOTICES_KEY, notices);
// A failed connection (and any other uncaught error of the app) becomes a notice.
app.config.errorHandler = (err, _instance, info) => {
  console.error(`vmm demo (${info}):`, err);
  notices.push({ code: err?.code ?? 'error', text: `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}` });
};
app.use(vmm);
app.mount('#app');

vmm.ready.then(
  (store) => {
    // For debugging and the end-to-end tests.
    window.__vmm = store;
  },
  () => {},
);
