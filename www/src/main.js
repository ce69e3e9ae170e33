import { createApp } from 'vue';
import { createVmm } from 'vmm-client/vue';
import App from './App.vue';
import LoginForm from './components/LoginForm.vue';
import { readConfig, saveLogin } from './config.js';
import { CONFIG_KEY, createNotices, NOTICES_KEY } from './notices.js';
import './style.css';

const config = readConfig();
if (config.needsLogin && !config.login) {
  // The broker wants a user: ask first, then start again as that user.
  createApp(LoginForm, {
    hint: config.loginHint,
    url: config.url,
    onLogin(login) {
      saveLogin(login);
      window.location.reload();
    },
  }).mount('#app');
} else {
  startBoard();
}

function startBoard() {
  const notices = createNotices();
  const vmm = createVmm({
    url: config.url,
    clientId: config.clientId,
    username: config.login?.user,
    password: config.login?.password,
    prefix: config.prefix,
    collections: [config.board],
  });

  const app = createApp(App);
  app.provide(CONFIG_KEY, config);
  app.provide(NOTICES_KEY, notices);
  // A failed attempt to reach the broker with a new problem (a ConnectionError, with its `reason`:
  // createVmm reports them here), and any other uncaught error of the app, comes here. The first is
  // only logged: the status line already says it, from the store's `problem`, as long as it lasts.
  // The others become a notice each. `window.__vmmErrors` keeps them all for the end-to-end tests.
  const errors = [];
  window.__vmmErrors = errors;
  app.config.errorHandler = (err, _instance, info) => {
    errors.push({ name: err?.name, code: err?.code, reason: err?.reason, message: err?.message ?? String(err), info });
    if (err?.code === 'connection') {
      console.warn(`vmm demo: cannot reach the broker (${err.reason}): ${err.message}`);
      return;
    }
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
}
