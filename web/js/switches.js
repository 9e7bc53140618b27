// switches.js - the cutover matrix: every switch of a dual-read/dual-write migration with its
// positions in a row (the current one highlighted), whether its flag call applied it, when and by
// whom it moved, its history, the rules that order the moves, and a revert button beside each.
//
// A revert is the way back: any engineer, at any time the migration is not closed, never held by
// a gate or a rule (core/switches.h). Moves forward happen by ticking switch steps in the
// checklist; a rule refusal there says which rule (see ruleRefusal).
//
// The migration document carries the switches (without history) and is re-read on every event;
// GET .../switches adds each switch's history and the rules, read on load and on switch events.

import { api } from './api.js';
import { formDialog } from './dialog.js';
import { h, hms, replace, uuid } from './dom.js';

const ACTORS = new Set(['engineer', 'lead', 'admin']);

// One requirement of a rule, in words.
function requirementText(q) {
  if (q.switch) return `${q.switch} is at '${q.at_least}' or beyond`;
  return `'${q.verification}' was verified within the last ${q.within_hours} h`;
}

// "writes may not pass 'mysql' until reads is at '50% dynamodb' or beyond"
export function ruleText(r) {
  return `${r.switch} may not pass '${r.beyond}' until ${(r.requires || []).map(requirementText).join(' and ')}`;
}

// The words of a tick refused by a switch rule (a 409 with "rule" and "unmet"), or null.
export function ruleRefusal(body) {
  if (!body || !body.rule || typeof body.rule !== 'object') return null;
  const unmet = Array.isArray(body.unmet) ? body.unmet : [];
  return `Refused by the rule “${ruleText(body.rule)}”${unmet.length ? `: ${unmet.join('; ')}` : ''}.`;
}

function who(p) {
  return (p && (p.name || p.sub)) || 'someone';
}

export class SwitchMatrix {
  // opts: {mid, me, onChanged()}
  constructor(opts) {
    this.opts = opts;
    this.canRevert = ACTORS.has(opts.me.role);
    this.doc = null;
    this.detail = new Map(); // name -> Switch with history (from GET switches)
    this.rules = [];
    this.busy = new Set(); // names being reverted
    this.msgs = new Map(); // name -> {kind, text}
    this.open = new Set(); // names whose history is open
    this.request = 0;
    this.timer = null;
    this.list = h('ul', { class: 'sw-list' });
    this.rulesEl = h('div', { class: 'sw-rules' });
    this.el = h('section', { class: 'panel matrix', 'aria-labelledby': 'matrix-title', hidden: true },
      h('h2', { id: 'matrix-title' }, 'Cutover switches'), this.list, this.rulesEl);
  }

  destroy() {
    clearTimeout(this.timer);
  }

  setDoc(doc) {
    const first = this.doc === null;
    this.doc = doc;
    if (first && (doc.switches || []).length) this.load();
    this.render();
  }

  onEvent(action) {
    if (action.startsWith('switch.') || action === 'step.fail') {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.load(), 80);
    }
  }

  reload() {
    if (this.doc && (this.doc.switches || []).length) this.load();
  }

  async load() {
    const n = ++this.request;
    try {
      const res = await api.switches(this.opts.mid);
      if (n !== this.request) return;
      this.detail = new Map(((res && res.items) || []).map((s) => [s.name, s]));
      this.rules = (res && res.rules) || [];
      this.render();
    } catch {
      // the document still shows every switch's position; history waits for the next event
    }
  }

  // The switch as the freshest source has it: the document's copy unless the list's is newer.
  current(sw) {
    const d = this.detail.get(sw.name);
    return d && d.version > sw.version ? { ...sw, ...d } : sw;
  }

  stepTitle(id) {
    for (const st of (this.doc && this.doc.stages) || []) {
      const s = (st.steps || []).find((x) => x.id === id);
      if (s) return s.title;
    }
    return null;
  }

  render() {
    const doc = this.doc;
    const switches = (doc && doc.switches) || [];
    this.el.hidden = switches.length === 0;
    if (!switches.length) return;
    const a = document.activeElement;
    if (a && this.el.contains(a) && a.dataset.focusKey) this.focusKey = a.dataset.focusKey;
    replace(this.list, switches.map((s) => this.row(this.current(s))));
    replace(this.rulesEl, this.rules.length
      ? [h('h3', null, 'Rules'), h('ul', { class: 'sw-rule-list' }, this.rules.map((r) => h('li', null, ruleText(r))))]
      : null);
    this.restoreFocus();
  }

  // Rows are drawn anew on every change: keep the keyboard on the same button (once enabled
  // again), unless the person has moved elsewhere.
  restoreFocus() {
    if (!this.focusKey) return;
    const a = document.activeElement;
    if (a && a.closest && a.closest('dialog')) return;
    if (a && a !== document.body && !this.el.contains(a)) {
      this.focusKey = null;
      return;
    }
    const el = this.el.querySelector(`[data-focus-key="${CSS.escape(this.focusKey)}"]`);
    if (el && !el.disabled && el !== a) el.focus({ preventScroll: true });
  }

  row(sw) {
    const positions = sw.positions || [];
    const at = positions.indexOf(sw.position);
    let state;
    let word;
    if (sw.error) {
      state = 'failed';
      word = 'Failed';
    } else if (sw.pending) {
      state = 'pending';
      word = 'Applying…';
    } else {
      state = 'applied';
      word = 'Applied';
    }
    const d = this.detail.get(sw.name);
    const history = (d && d.history) || [];
    const last = history.length ? history[history.length - 1] : null;
    const stepTitle = last && last.step !== null && last.step !== undefined ? this.stepTitle(last.step) : null;
    const moved = sw.moved_at
      ? [`${last && last.kind === 'revert' ? 'Reverted' : 'Moved'} to '${sw.position}' by ${who(sw.moved_by)} at ${hms(sw.moved_at)}`,
        stepTitle ? ` (step “${stepTitle}”)` : '',
        last && last.reason ? ` — ${last.reason}` : ''].join('')
      : `At its starting position '${sw.position}'; not moved yet.`;
    const readOnly = this.doc.status === 'closed';
    const busy = this.busy.has(sw.name);
    const msg = this.msgs.get(sw.name);
    const actions = [];
    if (this.canRevert && !readOnly && at > 0) {
      actions.push(h('button', {
        type: 'button',
        class: 'btn btn-small btn-warn sw-revert',
        disabled: busy,
        dataset: { focusKey: `revert-${sw.name}` },
        'aria-label': `Revert ${sw.name} from ${sw.position} to ${positions[at - 1]}`,
        onclick: () => this.revert(sw),
      }, `Revert to '${positions[at - 1]}'…`));
    }
    return h('li', { class: `sw sw-${state}`, dataset: { switch: sw.name } },
      h('div', { class: 'sw-head' },
        h('h3', { class: 'sw-name' }, sw.name),
        sw.title ? h('span', { class: 'sw-title' }, sw.title) : null,
        h('span', { class: `badge sw-state sw-state-${state}` }, word)),
      h('ol', { class: 'sw-positions', 'aria-label': `Positions of ${sw.name}; now ${sw.position}` },
        positions.map((p, i) => h('li', {
          class: `sw-pos ${i < at ? 'sw-past' : i === at ? 'sw-current' : 'sw-future'}`,
          'aria-current': i === at ? 'true' : null,
        }, h('span', { class: 'sw-pos-text' }, p), i === at ? h('span', { class: 'offscreen' }, ' (current)') : null))),
      h('p', { class: 'sw-moved' }, moved),
      sw.error ? h('p', { class: 'sw-error' }, `Not applied: ${sw.error}`) : null,
      sw.pending ? h('p', { class: 'hint' }, 'Waiting for the flag system to confirm the change.') : null,
      msg ? h('p', { class: `sw-msg sw-msg-${msg.kind}`, role: msg.kind === 'error' ? 'alert' : 'status' }, msg.text) : null,
      actions.length ? h('div', { class: 'sw-actions' }, actions) : null,
      history.length ? this.historyEl(sw, history) : null);
  }

  historyEl(sw, history) {
    const el = h('details', { class: 'sw-history', open: this.open.has(sw.name) ? true : null },
      h('summary', null, `History (${history.length} move${history.length === 1 ? '' : 's'})`),
      h('ol', null, [...history].reverse().map((m) => h('li', { class: `sw-move sw-move-${m.kind}` },
        h('time', { datetime: m.at || '' }, hms(m.at)), ' ',
        `${m.kind === 'revert' ? 'reverted' : 'moved'} '${m.from}' → '${m.to}' by ${who(m.by)}`,
        m.reason ? ` — ${m.reason}` : '',
        m.call && m.call.status && m.call.status !== 'applied' ? ` (flag call ${m.call.status}${m.call.error ? `: ${m.call.error}` : ''})` : ''))));
    el.addEventListener('toggle', () => {
      if (el.open) this.open.add(sw.name);
      else this.open.delete(sw.name);
    });
    return el;
  }

  async revert(sw) {
    const positions = sw.positions || [];
    const at = positions.indexOf(sw.position);
    const earlier = positions.slice(0, at).reverse(); // one back first
    this.focusKey = `revert-${sw.name}`;
    const ans = await formDialog({
      title: `Revert ${sw.name}?`,
      body: [
        h('p', null, `${sw.name} is at '${sw.position}'. A revert moves it back now: no gate, no sign-off, no rule holds the way back.`),
        h('p', { class: 'hint' }, 'The revert is recorded in the flight recorder.'),
      ],
      confirmLabel: 'Revert',
      fields: [
        {
          name: 'to', label: 'Back to', kind: 'select', value: earlier[0],
          options: earlier.map((p, i) => ({ value: p, label: i === 0 ? `${p} (one back)` : p })),
        },
        { name: 'reason', label: 'Reason (optional)', kind: 'textarea' },
      ],
    });
    if (!ans.ok) {
      this.restoreFocus();
      return;
    }
    const body = {};
    if (ans.values.to && ans.values.to !== earlier[0]) body.to = ans.values.to;
    if (ans.values.reason) body.reason = ans.values.reason;
    this.busy.add(sw.name);
    this.msgs.delete(sw.name);
    this.render();
    try {
      const res = await api.revertSwitch(this.opts.mid, sw.name, body, uuid());
      if (res && res.name) this.detail.set(res.name, res);
      this.msgs.set(sw.name, { kind: 'ok', text: `Reverted to '${res ? res.position : ans.values.to}'.` });
      if (this.opts.onChanged) this.opts.onChanged();
    } catch (err) {
      if (err.status !== 401) this.msgs.set(sw.name, { kind: 'error', text: `Not reverted: ${err.message}` });
    }
    this.busy.delete(sw.name);
    this.render();
  }
}
