// The app's settings, from the URL: ?client=…&board=…&ws=…&prefix=…

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

export function readConfig(href = window.location.href) {
  const params = new URL(href).searchParams;
  return {
    clientId: clientIdFrom(params),
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
