// main.js - start-up, the top bar (who you are, connection status), and hash routing:
//   #/          the migrations list
//   #/m/<mid>   the cockpit of one migration
// Not signed in: the sign-in page, whatever the address (it is kept for after sign-in).

import { api, setUnauthorizedHandler } from './api.js';
import { mountCockpit } from './cockpit.js';
import { h, replace, sleep } from './dom.js';
import { mountList } from './list.js';
import { mountSignIn } from './signin.js';

const app = document.getElementById('app');
const connEl = document.getElementById('conn');
const userEl = document.getElementById('user');
const crumbsEl = document.getElementById('crumbs');

let me = null;
let view = null;

const CONN_WORDS = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

// The connection status in the top bar, always visible while a page is live.
function setConn(status) {
  connEl.hidden = !status;
  connEl.dataset.state = status || '';
  replace(connEl,
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('span', { class: 'conn-text' }, CONN_WORDS[status] || status || ''));
  document.body.dataset.conn = status || '';
}

function setCrumbs(items) {
  replace(crumbsEl, items.map((it, i) => [
    i ? h('span', { class: 'sep', 'aria-hidden': 'true' }, '/') : null,
    it.href ? h('a', { href: it.href }, it.text) : h('span', { 'aria-current': 'page' }, it.text),
  ]));
}

function setUser() {
  if (!me) {
    userEl.replaceChildren();
    return;
  }
  replace(userEl,
    h('span', { class: 'user-name' }, me.name || me.sub),
    h('span', { class: `role role-${me.role}` }, me.role),
    h('button', { type: 'button', class: 'btn btn-small', onclick: signOut, 'aria-label': 'Sign out' }, 'Sign out'));
}

function teardown() {
  if (view) {
    view.destroy();
    view = null;
  }
}

function showSignIn(message) {
  teardown();
  me = null;
  setUser();
  setConn('');
  setCrumbs([]);
  document.title = 'Sign in · flightdeck';
  view = mountSignIn(app, {
    message,
    onSignedIn: (who) => {
      me = who;
      route();
    },
  });
}

async function signOut() {
  try {
    await api.signOut();
  } catch {
    // Signing out of a server that cannot be reached: the cookie stays, but we leave anyway.
  }
  showSignIn('Signed out.');
}

function route() {
  if (!me) {
    showSignIn();
    return;
  }
  teardown();
  setUser();
  const hash = location.hash || '#/';
  const m = /^#\/m\/([^/?#]+)/.exec(hash);
  const common = {
    me,
    setConn,
    setCrumbs,
    onUnauthorized: () => showSignIn('Your session has ended. Sign in again.'),
  };
  if (m) {
    let mid;
    try {
      mid = decodeURIComponent(m[1]);
    } catch {
      mid = m[1];
    }
    view = mountCockpit(app, { ...common, mid });
  } else {
    view = mountList(app, common);
  }
  app.focus({ preventScroll: true });
}

async function boot() {
  setUnauthorizedHandler(() => {
    if (me) showSignIn('Your session has ended. Sign in again.');
  });
  window.addEventListener('hashchange', () => {
    if (me) route();
  });
  // Who am I? If the server cannot be reached (restarting), keep asking: the page recovers
  // by itself once it is back.
  for (let attempt = 0; ; attempt++) {
    try {
      me = await api.me();
      break;
    } catch (err) {
      if (err.status === 401) {
        showSignIn();
        return;
      }
      setConn('offline');
      replace(app, h('p', { class: 'loading', role: 'status' }, `Cannot reach flightdeck (${err.message}); retrying…`));
      await sleep(Math.min(1000 * (attempt + 1), 5000));
    }
  }
  route();
}

boot();
