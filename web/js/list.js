// list.js - the migrations list: status, window, owner team, progress per stage; live.
//
// Any event on the all-migrations stream re-reads the list (a handful of migrations; cheap),
// so progress moves while you watch.

import { allMigrations } from './api.js';
import { h, replace, statusWord, windowText } from './dom.js';
import { LiveStream } from './live.js';

export function mountList(root, { setConn, setCrumbs, onUnauthorized }) {
  setCrumbs([{ text: 'Migrations' }]);
  document.title = 'Migrations · flightdeck';
  const listEl = h('ul', { class: 'mlist', 'aria-label': 'Migrations' });
  const note = h('p', { class: 'list-note', role: 'status' }, 'Loading…');
  replace(root, h('section', { class: 'list-page' },
    h('h1', null, 'Migrations'), note, listEl));

  let destroyed = false;
  let timer = null;
  let loading = null;
  let again = false;

  async function load() {
    if (loading) {
      again = true; // an event arrived mid-load: read once more when this one ends
      return loading;
    }
    loading = (async () => {
      try {
        const items = await allMigrations();
        if (destroyed) return;
        render(items);
        note.textContent = items.length ? '' : 'No migrations yet.';
      } catch (err) {
        if (!destroyed && err.status !== 401) note.textContent = `Could not load migrations: ${err.message}`;
      }
    })();
    await loading;
    loading = null;
    if (again && !destroyed) {
      again = false;
      load();
    }
  }

  function render(items) {
    replace(listEl, items.map(card));
  }

  const live = new LiveStream('/api/events', {
    onStatus: setConn,
    onOpen: () => load(),
    onEvent: () => {
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    },
    onResync: () => load(),
    onUnauthorized,
  });
  load();
  live.start(0);

  return {
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      live.stop();
    },
  };
}

function card(m) {
  const stages = m.stages || [];
  return h('li', { class: `mcard status-${m.status}` },
    h('div', { class: 'mcard-head' },
      h('a', { class: 'mcard-title', href: `#/m/${encodeURIComponent(m.id)}` }, m.title || m.id),
      h('span', { class: `badge status-${m.status}` }, statusWord(m.status))),
    h('dl', { class: 'facts' },
      h('div', null, h('dt', null, 'Window'), h('dd', null, windowText(m.window))),
      h('div', null, h('dt', null, 'Owner'), h('dd', null, m.owner_team || '—')),
      h('div', null, h('dt', null, 'Id'), h('dd', null, h('code', null, m.id)))),
    h('ol', { class: 'mini-stages', 'aria-label': 'Progress per stage' }, stages.map(miniStage)));
}

export function stageCounts(stage) {
  const p = stage.progress || {};
  const total = p.total || 0;
  const finished = (p.done || 0) + (p.skipped || 0);
  return { total, finished, failed: p.failed || 0 };
}

function miniStage(stage) {
  const { total, finished, failed } = stageCounts(stage);
  const pct = total ? Math.round((100 * finished) / total) : stage.status === 'done' ? 100 : 0;
  const label = `${stage.title || stage.key}: ${finished} of ${total} steps finished${failed ? `, ${failed} failed` : ''} (${statusWord(stage.status)})`;
  return h('li', { class: `mini-stage stage-${stage.status}`, 'aria-label': label, title: label },
    h('span', { class: 'mini-title' }, stage.title || stage.key),
    h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: { width: `${pct}%` } })),
    h('span', { class: 'mini-count' }, `${finished}/${total}`,
      failed ? h('span', { class: 'mini-failed' }, ` · ${failed} failed`) : null));
}
