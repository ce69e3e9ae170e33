// The app's settings, from the URL: ?client=…&board=…&ws=…&prefix=…&login=1

import { ObjectId } from 'vmm-client';

const CLIENT_KEY = 'vmm-www-client';

/** `web-` and 6 random hex characters. */
export function randomClientId() {
  const bytes = new Uint8Array(3);
  crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** A new task id: an ObjectId, as MongoDB would make it (time, per-page randomness, a counter). */
export function newTaskId() {
  return new ObjectId();
}

function param(params, name, fallback) {
  const value = params.get(name);
  return value === null || value.trim() === '' ? fallback : value.trim();
}

/** The client id: `?client=`, else the one of this tab (sessionStorage, so a reload keeps it), else a new one. */
function clientIdFrom(params) {
  const given = param(params, 'client', null);
  if (given !== null) return given;
  let stored = null;
  try {
    stored = sessionStorage.getItem(CLIENT_KEY);
  } catch {
    // Storage may be unavailable (privacy settings): a new id per load then.
  }
  if (stored) return stored;
  const id = randomClientId();
  try {
    sessionStorage.setItem(CLIENT_KEY, id);
  } catch {
    // see above
  }
  return id;
}

const LOGIN_KEY = 'vmm-www-login';

/**
 * The user this tab logged in as, `{ user, password }`, or null. Kept in sessionStorage: it lasts
 * as long as the tab (a reload keeps it), and another tab logs in on its own. The password stays
 * in the tab because the broker asks for it again at every reconnect (a demo's trade-off; an app
 * with a login server would hand the page a short-lived token instead).
 */
export function savedLogin() {
  try {
    const login = JSON.parse(sessionStorage.getItem(LOGIN_KEY) ?? 'null');
    return typeof login?.user === 'string' && typeof login?.password === 'string' ? login : null;
  } catch {
    return null;
  }
}

/** Remembers (or, with null, forgets) this tab's login. */
export function saveLogin(login) {
  try {
    if (login) sessionStorage.setItem(LOGIN_KEY, JSON.stringify(login));
    else sessionStorage.removeItem(LOGIN_KEY);
  } catch {
    // Storage unavailable: the login lasts until the next reload.
  }
}

/**
 * Whether the broker wants a user name and password: `?login=1` (or `0`), else how `make demo`
 * built the app (VITE_VMM_LOGIN=1: its broker is the secure profile).
 */
function loginFrom(params) {
  const given = param(params, 'login', import.meta.env.VITE_VMM_LOGIN ?? '0');
  return given === '1' || given === 'true';
}

export function readConfig(href = window.location.href) {
  const params = new URL(href).searchParams;
  const login = loginFrom(params) ? savedLogin() : null;
  const session = clientIdFrom(params);
  return {
    // Logged in, the client id is `<user>:<session>` (PROTOCOL.md §2.3: the broker refuses a
    // client id of another user's, and the user's identity is the user name).
    clientId: login ? `${login.user}:${session}` : session,
    needsLogin: loginFrom(params),
    login,
    loginHint: import.meta.env.VITE_VMM_LOGIN_HINT ?? '',
    board: param(params, 'board', 'tasks'),
    // `make demo` builds the app with the broker it started (VITE_VMM_WS_URL).
    url: param(params, 'ws', import.meta.env.VITE_VMM_WS_URL || 'ws://127.0.0.1:9001'),
    prefix: param(params, 'prefix', 'vmm'),
  };
}

/** This page's URL for another client of the same board (and the same broker and prefix). */
export function secondClientUrl(clientId = randomClientId(), href = window.location.href) {
  const url = new URL(href);
  url.searchParams.set('client', clientId);
  url.hash = '';
  return url.toString();
}
