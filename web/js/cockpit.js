// cockpit.js - one migration, live: the stage strip, the go-around panel, the cutover matrix,
// the active stage's checklist, the gates (go/no-go board, briefings), the timeline, who is here,
// the dashboards, and the lead's stage actions, which say what a start or a completion still
// waits for.
//
// Keeping the screen true: on load and on every (re)connection the migration document is read
// again; step events carry the step's new state and are applied directly (a step's version
// decides which of two copies is newer); anything else re-reads the document (and the briefings
// when they may have changed).

import { api, ApiError } from './api.js';
import { confirmDialog, dialogOpen, infoDialog, shortcutsDialog } from './dialog.js';
import { h, replace, statusWord, uuid, windowText } from './dom.js';
import { BriefingsPanel, gateWaitsFor, GoNoGoBoard, startWaitsFor } from './gates.js';
import { GoAroundPanel } from './goaround.js';
import { LiveStream } from './live.js';
import { Checklist } from './steps.js';
import { SwitchMatrix } from './switches.js';
import { Timeline } from './timeline.js';

const LEADS = new Set(['lead', 'admin']);
const ACTORS = new Set(['engineer', 'lead', 'admin']);

// Events whose "after" is the whole step document (applied directly, without a re-read).
const STEP_DOCS = new Set(['step.tick', 'step.untick', 'step.skip', 'step.fail', 'step.add', 'step.update', 'step.confirm']);
// Events after which the plan revision (and so acknowledgements and sign-offs) may have moved.
const PLAN_CHANGES = new Set(['step.add', 'step.update', 'step.delete', 'stage.update', 'migration.update']);
// How often the active stage's elapsed time is redrawn between events.
const CLOCK_MS = 15000;

export function mountCockpit(root, { mid, me, setConn, setCrumbs, onUnauthorized }) {
  const isLead = LEADS.has(me.role);
  const canWork = ACTORS.has(me.role);
  let doc = null;
  let viewStage = null; // the stage the user chose to look at; null follows the active stage
  let destroyed = false;
  let docRequest = 0;
  let refetchTimer = null;
  let conn = 'connecting';

  const header = h('section', { class: 'mhead', 'aria-labelledby': 'm-title' });
  const strip = h('ol', { class: 'strip', 'aria-label': 'Stages' });
  const leadBar = h('div', { class: 'lead-actions', role: 'group', 'aria-label': 'Stage actions' });
  const gateStatus = h('p', { id: 'gate-status', class: 'gate-status', role: 'status', hidden: true });
  const notice = h('p', { class: 'notice', role: 'status', hidden: true });
  const presenceList = h('ul', { class: 'presence' });
  const presenceTitle = h('h2', { id: 'presence-title' }, 'Here now');
  const dashboards = h('div', { class: 'dashboards' });
  const timeline = new Timeline();
  timeline.stageTitle = (key) => {
    const st = doc && doc.stages.find((s) => s.key === key);
    return st ? st.title : '';
  };

  const checklist = new Checklist({
    mid,
    me,
    canAct: (step) => permissions(step),
    onStep: (step) => applyStep(step),
  });
  const board = new GoNoGoBoard({ mid, me, onChanged: () => loadDoc() });
  const briefings = new BriefingsPanel({ mid, me, onChanged: () => { loadDoc(); loadBriefings(); } });
  const goAround = new GoAroundPanel({
    mid,
    me,
    onDoc: (next) => {
      viewStage = null;
      setDoc(next);
    },
    onAbort: () => abortFlight(),
    onChanged: () => loadDoc(),
  });
  const matrix = new SwitchMatrix({ mid, me, onChanged: () => loadDoc() });

  const help = h('button', {
    type: 'button',
    class: 'btn btn-small help',
    'aria-label': 'Keyboard shortcuts',
    onclick: () => shortcutsDialog(),
  }, '? Shortcuts');

  replace(root,
    h('div', { class: 'cockpit' },
      header,
      h('nav', { class: 'strip-wrap', 'aria-label': 'Stages of the flight' }, strip),
      h('div', { class: 'bar-row' }, leadBar, help),
      gateStatus,
      notice,
      h('div', { class: 'cockpit-grid' },
        h('div', { class: 'main-col' },
          goAround.el,
          matrix.el,
          h('div', { class: 'gates-row' }, board.el, briefings.el),
          checklist.el),
        h('aside', { class: 'side', 'aria-label': 'Crew, dashboards and timeline' },
          h('section', { class: 'panel', 'aria-labelledby': 'presence-title' }, presenceTitle, presenceList),
          h('section', { class: 'panel', 'aria-labelledby': 'dash-title' },
            h('h2', { id: 'dash-title' }, 'Dashboards'), dashboards),
          timeline.el))));
  setCrumbs([{ text: 'Migrations', href: '#/' }, { text: mid }]);
  document.title = `${mid} · flightdeck`;

  // What this user may do to `step` right now.
  function permissions(step) {
    if (!doc || !canWork) return { tick: false, untick: false };
    const flying = doc.status === 'in_flight' || doc.status === 'landed';
    const stage = doc.stages.find((s) => s.key === step.stage);
    const open = flying && stage && stage.status === 'active';
    const own = step.by && step.by.sub === me.sub;
    return { tick: Boolean(open), untick: Boolean(open && (isLead || own)) };
  }

  function activeStage() {
    return doc.stages.find((s) => s.status === 'active') || null;
  }

  function shownStage() {
    if (!doc || !doc.stages.length) return null;
    if (viewStage) {
      const chosen = doc.stages.find((s) => s.key === viewStage);
      if (chosen) return chosen;
    }
    return activeStage() || doc.stages.find((s) => s.status !== 'done') || doc.stages[doc.stages.length - 1];
  }

  function recount(stage) {
    const p = { total: 0, done: 0, skipped: 0, failed: 0, pending: 0 };
    for (const s of stage.steps || []) {
      p.total++;
      if (p[s.status] !== undefined) p[s.status]++;
      else p.pending++;
    }
    stage.progress = p;
  }

  // Take a freshly read document, keeping any step we hold in a newer version.
  function setDoc(next) {
    if (doc) {
      const held = new Map();
      for (const st of doc.stages) for (const s of st.steps || []) held.set(s.id, s);
      for (const st of next.stages || []) {
        st.steps = (st.steps || []).map((s) => {
          const mine = held.get(s.id);
          return mine && mine.version > s.version ? mine : s;
        });
      }
    }
    const first = doc === null;
    doc = next;
    doc.stages = doc.stages || [];
    for (const st of doc.stages) recount(st);
    renderAll();
    // The history may have been drawn before stage titles were known.
    if (first) timeline.redraw();
  }

  // Merge one step (from our own action, a conflict answer or a live event).
  function applyStep(step) {
    if (!doc || !step || step.id === undefined) return;
    let target = doc.stages.find((s) => s.key === step.stage);
    for (const st of doc.stages) {
      const i = (st.steps || []).findIndex((s) => s.id === step.id);
      if (i < 0) continue;
      if (st.steps[i].version > step.version) return; // we already hold a newer copy
      if (target && target !== st) {
        st.steps.splice(i, 1);
        recount(st);
      } else {
        st.steps[i] = step;
        recount(st);
        renderStrip();
        renderLeadBar();
        renderChecklist();
        return;
      }
    }
    if (!target) {
      refetch();
      return;
    }
    target.steps = target.steps || [];
    target.steps.push(step);
    recount(target);
    renderAll();
  }

  async function loadDoc() {
    const n = ++docRequest;
    try {
      const next = await api.migration(mid);
      if (destroyed || n !== docRequest) return;
      setDoc(next);
    } catch (err) {
      if (destroyed || n !== docRequest) return;
      if (err.status === 404) {
        replace(root, h('section', { class: 'card' },
          h('h1', null, 'No such migration'),
          h('p', null, 'There is no migration called ', h('code', null, mid), '. '),
          h('p', null, h('a', { href: '#/' }, 'Back to all migrations'))));
        destroy();
      } else if (err.status !== 401) {
        showNotice(`Could not load the migration: ${err.message}`);
      }
    }
  }

  function refetch() {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(loadDoc, 80);
  }

  let briefingTimer = null;
  function refetchBriefings() {
    clearTimeout(briefingTimer);
    briefingTimer = setTimeout(loadBriefings, 80);
  }

  async function loadAudit() {
    try {
      const events = await api.audit(mid, timeline.lastSeq());
      if (!destroyed && Array.isArray(events)) timeline.add(events);
    } catch {
      // The stream replays what we miss; the timeline is not worth an error here.
    }
  }

  let briefingRequest = 0;
  async function loadBriefings() {
    const n = ++briefingRequest;
    try {
      const res = await api.briefings(mid);
      if (destroyed || n !== briefingRequest) return;
      briefings.setItems(res && res.items);
      if (doc) briefings.render(doc);
    } catch {
      // the start gate in the document still says what is missing
    }
  }

  async function loadPresence() {
    try {
      const p = await api.presence(mid);
      if (!destroyed) renderPresence(p);
    } catch {
      // presence is a nicety
    }
  }

  function showNotice(text) {
    notice.hidden = !text;
    notice.textContent = text || '';
  }

  // --- rendering -------------------------------------------------------------------------

  function renderAll() {
    if (!doc) return;
    renderHeader();
    renderStrip();
    renderLeadBar();
    renderDashboards();
    renderChecklist();
    board.render(doc);
    briefings.render(doc);
    goAround.setDoc(doc);
    matrix.setDoc(doc);
  }

  function renderChecklist() {
    const stage = shownStage();
    checklist.render(stage, doc);
    const readOnly = doc.status === 'closed' || doc.status === 'aborted';
    let text = '';
    if (readOnly) text = `This migration is ${statusWord(doc.status).toLowerCase()}; its record is read-only.`;
    else if (doc.status === 'go_around') text = 'This migration went around: the rollback PR was merged and landing is stopped. A lead re-opens landing for another attempt, or aborts.';
    else if (doc.status === 'draft') text = 'Not started yet: steps can be ticked once a lead starts the migration.';
    else if (stage && stage.status !== 'active') text = `You are looking at ${stage.title}, which is not the active stage.`;
    else if (!canWork) text = 'You are signed in as a viewer: you can follow along but not tick.';
    showNotice(text);
    document.title = `${doc.title} · flightdeck`;
  }

  function renderHeader() {
    const teams = (doc.teams || []).filter((t) => t !== doc.owner_team);
    replace(header,
      h('div', { class: 'mhead-top' },
        h('h1', { id: 'm-title' }, doc.title || doc.id),
        h('span', { class: `badge status-${doc.status}` }, statusWord(doc.status))),
      h('dl', { class: 'facts' },
        h('div', null, h('dt', null, 'Window'), h('dd', null, windowText(doc.window))),
        h('div', null, h('dt', null, 'Owner'), h('dd', null, doc.owner_team || '—')),
        teams.length ? h('div', null, h('dt', null, 'Affected'), h('dd', null, teams.join(', '))) : null,
        doc.abort_reason ? h('div', { class: 'abort-reason' }, h('dt', null, 'Aborted'), h('dd', null, doc.abort_reason)) : null),
      doc.description ? h('details', { class: 'description' },
        h('summary', null, 'About this migration'), h('p', null, doc.description)) : null);
  }

  function renderStrip() {
    // "Next" is the stage after the active one, or the first stage not done before take-off.
    const active = doc.stages.findIndex((s) => s.status === 'active');
    const nextIndex = active >= 0 ? active + 1
      : doc.status === 'draft' ? doc.stages.findIndex((s) => s.status !== 'done') : -1;
    const shown = shownStage();
    replace(strip, doc.stages.map((st, i) => {
      const p = st.progress || {};
      const finished = (p.done || 0) + (p.skipped || 0);
      const total = p.total || 0;
      const pct = total ? Math.round((100 * finished) / total) : st.status === 'done' ? 100 : 0;
      const role = st.status === 'done' ? 'done' : st.status === 'active' ? 'active'
        : i === nextIndex ? 'next' : 'later';
      const word = { done: 'Done', active: 'Active', next: 'Next', later: 'Later' }[role];
      return h('li', { class: `strip-item stage-${role}` },
        h('button', {
          type: 'button',
          class: 'stage-btn',
          'aria-pressed': shown === st ? 'true' : 'false',
          'aria-label': `${st.title}: ${word}, ${finished} of ${total} finished${p.failed ? `, ${p.failed} failed` : ''}`,
          onclick: () => {
            viewStage = st.status === 'active' ? null : st.key;
            renderStrip();
            renderChecklist();
          },
        },
        h('span', { class: 'stage-name' }, st.title || st.key),
        h('span', { class: 'stage-word' }, word),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', style: { width: `${pct}%` } })),
        h('span', { class: 'stage-count' }, `${finished}/${total}${p.failed ? ` · ${p.failed} failed` : ''}`)));
    }));
  }

  // The stage after `stage`, or null for the last one.
  function nextStage(stage) {
    const i = doc.stages.indexOf(stage);
    return i >= 0 && i + 1 < doc.stages.length ? doc.stages[i + 1] : null;
  }

  // What the lead's next move (start, or completing the active stage) still waits for:
  // {what: 'Take-off' | the next stage's title, items: [phrases]} or null when nothing gates it.
  function pendingGate() {
    if (doc.status === 'draft') {
      const items = startWaitsFor(doc.start_gate);
      return items.length ? { verb: 'Start', items } : null;
    }
    const active = activeStage();
    if (!active || (doc.status !== 'in_flight' && doc.status !== 'landed')) return null;
    const next = nextStage(active);
    if (!next) return null;
    const items = gateWaitsFor(next.gate);
    return items.length ? { verb: next.title, items } : null;
  }

  function renderLeadBar() {
    const buttons = [];
    const gate = pendingGate();
    if (isLead) {
      const active = activeStage();
      if (doc.status === 'draft') {
        buttons.push(h('button', {
          type: 'button',
          class: 'btn btn-primary',
          'aria-describedby': gate ? 'gate-status' : null,
          onclick: startFlight,
        }, 'Start migration…'));
      }
      if (active && (doc.status === 'in_flight' || doc.status === 'landed')) {
        const open = (active.steps || []).filter((s) => s.status !== 'done' && s.status !== 'skipped').length;
        buttons.push(h('button', {
          type: 'button',
          class: 'btn btn-primary',
          'aria-describedby': gate ? 'gate-status' : null,
          onclick: () => completeStage(active),
        }, `Complete ${active.title}…${open ? ` (${open} open)` : ''}`));
      }
      if (doc.status !== 'closed' && doc.status !== 'aborted') {
        buttons.push(h('button', { type: 'button', class: 'btn btn-danger', onclick: abortFlight }, 'Abort…'));
      }
    }
    replace(leadBar, buttons);
    leadBar.hidden = buttons.length === 0;
    // Everyone sees what the next move waits for, so the people who can give it know.
    gateStatus.hidden = !gate;
    replace(gateStatus, gate
      ? [h('strong', null, `${gate.verb === 'Start' ? 'Start' : `${gate.verb} cannot begin yet`} — waiting for: `),
        h('span', { class: 'gate-items' }, gate.items.join(', '))]
      : null);
  }

  function renderDashboards() {
    const list = doc.dashboards || [];
    const overview = list.filter((d) => d.kind === 'overview');
    const full = list.filter((d) => d.kind !== 'overview');
    const links = (items) => h('ul', { class: 'dash-list' }, items.map((d) => h('li', null,
      h('a', { href: d.url, target: '_blank', rel: 'noopener noreferrer' }, d.title || d.url))));
    replace(dashboards,
      list.length === 0 ? h('p', { class: 'empty' }, 'No dashboards in the plan.') : null,
      overview.length ? [h('h3', null, 'Six-pack'), links(overview)] : null,
      full.length ? [h('h3', null, 'Full dashboards'), links(full)] : null);
  }

  function renderPresence(p) {
    const seen = new Map();
    for (const u of (p && p.users) || []) if (!seen.has(u.sub)) seen.set(u.sub, u);
    const users = [...seen.values()];
    presenceTitle.textContent = `Here now (${users.length})`;
    replace(presenceList, users.map((u) => h('li', { class: 'person' },
      h('span', { class: 'avatar', 'aria-hidden': 'true' }, (u.name || u.sub || '?').slice(0, 1).toUpperCase()),
      h('span', { class: 'person-name' }, u.name || u.sub, u.sub === me.sub ? ' (you)' : ''),
      h('span', { class: `role role-${u.role}` }, u.role))));
  }

  // --- lead actions --------------------------------------------------------------------------

  async function startFlight() {
    const first = doc.stages[0];
    const items = startWaitsFor(doc.start_gate);
    if (items.length) {
      await overrideFlow('start', { title: `${first ? first.title : 'Take-off'} is not cleared yet`, items });
      return;
    }
    const ans = await confirmDialog({
      title: 'Start the migration?',
      body: `${first ? first.title : 'The first stage'} becomes active and the crew can tick its steps. This is recorded in the flight recorder.`,
      confirmLabel: 'Start',
    });
    if (ans.ok) await leadCall('start', () => api.start(mid, uuid()));
  }

  async function completeStage(stage) {
    const open = (stage.steps || []).filter((s) => s.status !== 'done' && s.status !== 'skipped');
    const next = nextStage(stage);
    const items = next ? gateWaitsFor(next.gate) : [];
    if (!open.length && items.length) {
      await overrideFlow('complete', { title: `${next.title} cannot begin yet`, items, stage });
      return;
    }
    const body = [h('p', null, next ? `${next.title} becomes active.` : 'This is the last stage: the migration closes and becomes read-only.')];
    if (open.length) {
      body.push(h('p', { class: 'warn' }, 'These steps are not done or skipped, so the server will refuse:'),
        h('ul', null, open.map((s) => h('li', null, `${s.title} (${statusWord(s.status)})`))));
    }
    const ans = await confirmDialog({ title: `Complete ${stage.title}?`, body, confirmLabel: `Complete ${stage.title}` });
    if (ans.ok) await leadCall('complete', () => api.completeStage(mid, stage.key, uuid()), stage);
  }

  // A gate is not satisfied: say what it waits for, and let a lead go anyway with a written
  // reason (audited, listed in the report). kind: 'start' | 'complete'.
  async function overrideFlow(kind, { title, items, stage }) {
    const ans = await confirmDialog({
      title,
      body: [
        h('p', null, 'Waiting for:'),
        h('ul', { class: 'gate-missing-list' }, items.map((t) => h('li', null, t))),
        h('p', null, 'Better to get these first. A lead may override with a written reason: it is recorded in the flight recorder and shown in the report.'),
      ],
      confirmLabel: kind === 'start' ? 'Override and start' : `Override and complete ${stage.title}`,
      danger: true,
      reason: { label: 'Override reason', required: true },
    });
    if (!ans.ok) return;
    const key = uuid();
    if (kind === 'start') await leadCall('start', () => api.start(mid, key, ans.reason));
    else await leadCall('complete', () => api.completeStage(mid, stage.key, key, ans.reason), stage);
  }

  async function abortFlight() {
    const ans = await confirmDialog({
      title: 'Abort the migration?',
      body: 'Aborting stops the flight for good: the checklist becomes read-only. Say why.',
      confirmLabel: 'Abort migration',
      danger: true,
      reason: { label: 'Reason', required: true },
    });
    if (ans.ok) await leadCall('abort', () => api.abort(mid, ans.reason, uuid()));
  }

  async function leadCall(kind, fn, stage) {
    try {
      const res = await fn();
      viewStage = null;
      if (res && res.stages) setDoc(res);
      else loadDoc();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status === 401) return;
      const b = err.body || {};
      const blocking = Array.isArray(b.blocking) ? b.blocking : null;
      // The gate refused (the screen was behind, or something changed meanwhile): the server's
      // own list of what is missing, with the override path.
      const gateItems = kind === 'start' ? startWaitsFor(b) : gateWaitsFor(b);
      if (err.status === 409 && !(blocking && blocking.length) && gateItems.length && (kind === 'start' || stage)) {
        const next = kind === 'complete' ? doc.stages.find((s) => s.key === b.stage) : null;
        await overrideFlow(kind, {
          title: kind === 'start' ? 'Refused: not cleared for take-off' : `Refused: ${next ? next.title : 'the next stage'} cannot begin yet`,
          items: gateItems,
          stage,
        });
        loadDoc();
        return;
      }
      await infoDialog('Refused', [
        h('p', null, err.message),
        blocking && blocking.length
          ? h('ul', null, blocking.map((x) => h('li', null, `${x.title} (${statusWord(x.status)})`)))
          : null,
      ]);
      loadDoc();
    }
  }

  // --- live ----------------------------------------------------------------------------------

  function setConnStatus(status) {
    conn = status;
    setConn(status);
    const words = {
      connecting: '',
      live: '',
      reconnecting: 'Connection lost — reconnecting. What you see may be out of date.',
      offline: 'Offline — this screen is not being updated. Do not act on it until it says live.',
    };
    checklist.setStale(words[status] || '');
  }

  const live = new LiveStream(`/api/migrations/${encodeURIComponent(mid)}/events`, {
    onStatus: setConnStatus,
    onOpen: () => {
      // (Re)connected: the stream carries everything from here on; read the document now so
      // nothing that happened before (or while we were away) is missing.
      loadDoc();
      loadBriefings();
      loadPresence();
      goAround.reload();
      matrix.reload();
    },
    onEvent: (action, ev) => {
      timeline.add([ev]);
      goAround.onEvent(action);
      matrix.onEvent(action);
      const after = ev.after;
      if (STEP_DOCS.has(action) && after && after.id !== undefined && after.stage) {
        applyStep(after);
        // A plan change also moves the plan revision, the gates and the timing: read them again.
        if (PLAN_CHANGES.has(action)) refetch();
      } else {
        refetch();
      }
      if (PLAN_CHANGES.has(action) || action.startsWith('briefing.') || action.startsWith('feedback.')) {
        refetchBriefings();
      }
    },
    onPresence: renderPresence,
    onResync: async () => {
      await Promise.all([loadDoc(), loadAudit(), loadBriefings()]);
    },
    onUnauthorized,
  });

  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || dialogOpen()) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    if (e.key === '?') {
      e.preventDefault();
      shortcutsDialog();
      return;
    }
    if (checklist.handleKey(e)) e.preventDefault();
  }
  document.addEventListener('keydown', onKey);

  // Start: the document and the recorder's history in parallel, then the stream from the last
  // event we hold (so the stream neither repeats nor skips anything).
  (async () => {
    await Promise.all([loadDoc(), loadAudit(), loadBriefings()]);
    if (!destroyed) live.start(timeline.lastSeq());
  })();

  // The active stage's clock moves between events too.
  const clock = setInterval(() => {
    if (doc) checklist.renderTiming();
  }, CLOCK_MS);

  function destroy() {
    destroyed = true;
    clearTimeout(refetchTimer);
    clearTimeout(briefingTimer);
    clearInterval(clock);
    goAround.destroy();
    matrix.destroy();
    live.stop();
    document.removeEventListener('keydown', onKey);
  }

  return { destroy, get conn() { return conn; } };
}
