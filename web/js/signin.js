// signin.js - the sign-in page: paste a token, or (in dev mode) one click per demo user.
//
// The token is exchanged once for an HttpOnly session cookie (POST /api/session) and then
// forgotten: the page keeps no token anywhere.

import { api } from './api.js';
import { h, replace } from './dom.js';

// Render the sign-in page into `root`; onSignedIn(me) is called after a successful sign-in.
export function mountSignIn(root, { message, onSignedIn }) {
  const status = h('p', { class: 'signin-status', role: 'alert', 'aria-live': 'assertive' }, message || '');
  const tokenInput = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 4,
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'eyJhbGciOiJIUzI1NiIs…',
    'aria-label': 'Access token',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  let busy = false;

  async function signIn(token) {
    if (busy) return;
    busy = true;
    submit.disabled = true;
    status.textContent = 'Signing in…';
    try {
      await api.signIn(token);
      const me = await api.me();
      onSignedIn(me);
    } catch (err) {
      status.textContent = err.status === 401
        ? `That token was refused: ${err.message}`
        : `Could not sign in: ${err.message}`;
      submit.disabled = false;
      busy = false;
    }
  }

  const form = h('form', {
    class: 'signin-form',
    onsubmit: (e) => {
      e.preventDefault();
      const token = tokenInput.value.trim();
      if (!token) {
        status.textContent = 'Paste a token first.';
        tokenInput.focus();
        return;
      }
      signIn(token);
    },
  },
  h('label', { for: 'token', class: 'field-label' }, 'Access token (JWT)'),
  tokenInput,
  h('p', { class: 'hint' }, 'Ask your flightdeck admin for a token, or run ',
    h('code', null, 'flightdeck token --sub you --name "You" --role engineer --teams your-team'), '.'),
  submit);

  const devList = h('ul', { class: 'dev-users' });
  const devSection = h('section', { class: 'card dev-section', hidden: true, 'aria-labelledby': 'dev-title' },
    h('h2', { id: 'dev-title' }, 'Demo users'),
    h('p', { class: 'hint' }, 'This server runs in dev mode: sign in as a demo user with one click.'),
    devList);

  replace(root,
    h('div', { class: 'signin' },
      h('section', { class: 'card', 'aria-labelledby': 'signin-title' },
        h('h1', { id: 'signin-title' }, 'Sign in to flightdeck'),
        form,
        status),
      devSection));
  tokenInput.focus();

  api.devUsers().then((users) => {
    if (!Array.isArray(users) || users.length === 0 || !root.contains(devSection)) return;
    replace(devList, users.map((u) => h('li', null,
      h('button', {
        type: 'button',
        class: 'btn dev-user',
        'aria-label': `Sign in as ${u.name || u.sub} (${u.role})`,
        onclick: () => signIn(u.token),
      },
      h('span', { class: 'dev-name' }, u.name || u.sub),
      h('span', { class: `role role-${u.role}` }, u.role),
      h('span', { class: 'dev-teams' }, (u.teams || []).join(', '))))));
    devSection.hidden = false;
  }).catch(() => {
    // 404: not in dev mode; nothing to show.
  });

  return { destroy() {} };
}
