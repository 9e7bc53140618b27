// steps.js - the checklist of one stage: one card per step, the actions the role allows, and
// the keyboard (j/k to move, x or Space to tick).
//
// Cards are keyed by step id and updated in place, so a live update from someone else never
// throws away the note you are typing or the step you have focused. The big tick box only ever
// ticks (it never turns into "untick" under your finger); untick is a separate, smaller button.
//
// A critical step is done only when two people agree: the first tick leaves it "awaiting
// confirmation" and a different engineer confirms it with one click (the one who ticked it sees
// that someone else must). Steps past their expected time in the active stage are marked overdue.

import { api } from './api.js';
import { copyText, h, hms, replace, statusWord, uuid } from './dom.js';
import { ruleRefusal } from './switches.js';

const STATUS_VERB = {
  done: 'ticked', skipped: 'skipped', failed: 'marked failed', pending: 'unticked', awaiting_confirmation: 'ticked',
};

// "already ticked by Alice at 14:02:11" from the step the server says is current.
export function conflictText(current) {
  if (current.status === 'done' && current.confirmed_by) {
    const by = current.confirmed_by.name || current.confirmed_by.sub;
    const when = hms(current.confirmed_at);
    return when ? `already confirmed by ${by} at ${when}` : `already confirmed by ${by}`;
  }
  const verb = STATUS_VERB[current.status] || current.status;
  const who = (current.by && (current.by.name || current.by.sub)) || 'someone';
  const at = hms(current.at);
  return at ? `already ${verb} by ${who} at ${at}` : `already ${verb} by ${who}`;
}

function errorText(err) {
  if (err.status === 0) return 'Could not reach the server. Nothing was changed; try again.';
  if (err.status === 403) return `Not allowed: ${err.message}`;
  // A switch step whose move a plan rule forbids: say which rule and what is missing.
  const rule = err.status === 409 ? ruleRefusal(err.body) : null;
  if (rule) return rule;
  return err.message;
}

export class Checklist {
  // opts: {mid, me, canAct(step) -> bool, onStep(step) (apply an updated step everywhere)}
  constructor(opts) {
    this.opts = opts;
    this.cards = new Map(); // step id -> {el, step, main, actions, form, msg}
    this.ui = new Map(); // step id -> {form, msg, busy}
    this.list = h('ol', { class: 'steps', 'aria-label': 'Steps' });
    this.stale = h('p', { class: 'stale-banner', role: 'alert', hidden: true });
    this.heading = h('h2', { id: 'checklist-title' });
    this.progress = h('p', { class: 'checklist-progress' });
    this.timing = h('p', { class: 'stage-timing', hidden: true });
    this.timingAt = 0;
    this.empty = h('p', { class: 'empty', hidden: true }, 'No steps in this stage.');
    this.el = h('section', { class: 'checklist', 'aria-labelledby': 'checklist-title' },
      h('div', { class: 'checklist-head' }, this.heading, this.progress), this.timing,
      this.stale, this.empty, this.list);
  }

  uiOf(id) {
    let u = this.ui.get(id);
    if (!u) {
      u = { form: null, msg: null, busy: false };
      this.ui.set(id, u);
    }
    return u;
  }

  // Show `stage` (with its steps) of `migration`. Reuses the cards already on screen.
  render(stage, migration) {
    this.stage = stage;
    this.migration = migration;
    const steps = stage ? [...(stage.steps || [])].sort((a, b) => a.position - b.position) : [];
    this.heading.textContent = stage ? `${stage.title || stage.key} checklist` : 'Checklist';
    const finished = steps.filter((s) => s.status === 'done' || s.status === 'skipped').length;
    const failed = steps.filter((s) => s.status === 'failed').length;
    this.progress.textContent = stage
      ? `${statusWord(stage.status)} · ${finished} of ${steps.length} finished${failed ? ` · ${failed} failed` : ''}`
      : '';
    this.empty.hidden = steps.length > 0;
    this.timingAt = Date.now();
    this.renderTiming();

    const keep = new Set(steps.map((s) => s.id));
    for (const id of [...this.cards.keys()]) {
      if (!keep.has(id)) this.cards.delete(id);
    }
    const els = steps.map((s, i) => this.card(s, i + 1).el);
    const current = [...this.list.children];
    if (current.length !== els.length || current.some((el, i) => el !== els[i])) {
      const focused = document.activeElement;
      this.list.replaceChildren(...els);
      if (focused && focused.isConnected && focused !== document.activeElement) focused.focus({ preventScroll: true });
    }
  }

  // The active stage's clock: elapsed against expected minutes, and how many steps are overdue.
  // elapsed_minutes is the server's at the time the document was read; the minutes since are
  // added here, so a skewed browser clock does not matter.
  renderTiming() {
    const t = this.stage && this.stage.status === 'active' ? this.stage.timing : null;
    this.timing.hidden = !t;
    if (!t) return;
    const elapsed = (t.elapsed_minutes || 0) + Math.floor((Date.now() - this.timingAt) / 60000);
    const expected = t.expected_minutes;
    const over = expected !== null && expected !== undefined && (t.overdue || elapsed > expected);
    const late = this.overdueIds().size;
    let text = expected !== null && expected !== undefined
      ? `Elapsed ${elapsed} min of ${expected} expected`
      : `Elapsed ${elapsed} min (the plan gives no expected time)`;
    if (over) text += ` — overdue by ${Math.max(elapsed - expected, 0)} min: hold, continue or go around?`;
    if (late) text += ` · ${late} step${late === 1 ? '' : 's'} overdue`;
    this.timing.textContent = text;
    this.timing.className = `stage-timing${over || late ? ' overdue' : ''}`;
  }

  // Ids of the active stage's open steps that are past their expected time (server's verdict).
  overdueIds() {
    const t = this.stage && this.stage.status === 'active' ? this.stage.timing : null;
    const ids = new Set((t && t.overdue_steps) || []);
    for (const s of (this.stage && this.stage.steps) || []) {
      if (s.status === 'done' || s.status === 'skipped') ids.delete(s.id);
    }
    return ids;
  }

  // Re-render one step if it is on screen (the caller has already merged it into the document).
  update(step) {
    const c = this.cards.get(step.id);
    if (c) this.fill(c, step, c.number);
  }

  card(step, number) {
    let c = this.cards.get(step.id);
    if (!c) {
      const main = h('div', { class: 'step-main' });
      const actions = h('div', { class: 'step-actions' });
      const msg = h('p', { class: 'step-msg', role: 'status', 'aria-live': 'polite' });
      const form = h('div', { class: 'step-form' });
      const el = h('li', { class: 'step', tabindex: '0', dataset: { id: String(step.id) } }, main, actions, msg, form);
      c = { el, main, actions, msg, form, step, number };
      this.cards.set(step.id, c);
    }
    this.fill(c, step, number);
    return c;
  }

  // (Re)draw a card's content from `step`, keeping the open form and the focused control.
  fill(c, step, number) {
    c.step = step;
    c.number = number;
    const ui = this.uiOf(step.id);
    const can = this.opts.canAct(step);
    // A conflict note describes one version of the step; once the step moved on it is history.
    if (ui.msg && ui.msg.version !== undefined && step.version > ui.msg.version) ui.msg = null;
    const focusedAction = c.el.contains(document.activeElement) ? document.activeElement.dataset.action : null;

    const overdue = this.overdueIds().has(step.id);
    const awaiting = step.status === 'awaiting_confirmation';
    const mine = Boolean(step.by && step.by.sub === this.opts.me.sub);
    c.el.className = `step status-${step.status}${step.critical ? ' critical' : ''}${overdue ? ' overdue' : ''}${ui.busy ? ' busy' : ''}`;
    c.el.setAttribute('aria-label', `Step ${number}: ${step.title}, ${statusWord(step.status)}${step.critical ? ', critical' : ''}${overdue ? ', overdue' : ''}`);

    const tickable = can.tick && (step.status === 'pending' || step.status === 'failed');
    const box = tickable
      ? h('button', {
        type: 'button',
        class: 'tick-box',
        dataset: { action: 'tick' },
        disabled: ui.busy,
        'aria-label': `Tick step ${number}: ${step.title}`,
        title: 'Tick (x)',
        onclick: () => this.act(step.id, 'tick', ''),
      }, h('span', { 'aria-hidden': 'true' }, step.status === 'failed' ? '!' : ''))
      : h('span', { class: 'tick-box readonly', 'aria-hidden': 'true' },
        step.status === 'done' ? '✓' : step.status === 'skipped' ? '–' : step.status === 'failed' ? '!' : awaiting ? '½' : '');

    const head = h('div', { class: 'step-head' },
      h('span', { class: 'step-num' }, String(number)),
      h('h3', { class: 'step-title' }, step.title),
      step.critical ? h('span', { class: 'badge critical-badge' }, '⚠ Critical') : null,
      overdue ? h('span', { class: 'badge overdue-badge' }, 'Overdue') : null,
      h('span', { class: `badge step-status status-${step.status}` }, statusWord(step.status)));
    const meta = h('p', { class: 'step-meta' },
      step.owner_team ? h('span', { class: 'team' }, step.owner_team) : null,
      step.expected_minutes != null ? h('span', { class: 'mins' }, `~${step.expected_minutes} min`) : null);
    const details = step.details ? h('p', { class: 'step-details' }, step.details) : null;
    const sw = this.switchLine(step);
    const command = step.command
      ? h('div', { class: 'step-command' },
        h('code', null, step.command),
        h('button', {
          type: 'button',
          class: 'btn btn-small copy',
          dataset: { action: 'copy' },
          'aria-label': `Copy the command of step ${number}`,
          onclick: (e) => this.copy(step, e.currentTarget),
        }, 'Copy'))
      : null;
    const link = step.link
      ? h('p', { class: 'step-link' },
        h('a', { href: step.link, target: '_blank', rel: 'noopener noreferrer' }, step.link))
      : null;
    const who = this.whoText(step);

    replace(c.main, box,
      h('div', { class: 'step-body' }, head, meta, sw, details, command, link,
        who ? h('p', { class: 'step-who' }, who) : null));

    const buttons = [];
    if (can.tick && awaiting) {
      // Challenge and response: one click for the second person; the first is told why not.
      buttons.push(mine
        ? [h('button', {
          type: 'button',
          class: 'btn btn-small',
          dataset: { action: 'confirm' },
          disabled: true,
          'aria-label': `Confirm step ${number}: ${step.title} (someone else must confirm)`,
        }, 'Confirm'), h('span', { class: 'confirm-hint' }, 'someone else must confirm')]
        : h('button', {
          type: 'button',
          class: 'btn btn-small btn-primary',
          dataset: { action: 'confirm' },
          disabled: ui.busy,
          'aria-label': `Confirm step ${number}: ${step.title}`,
          onclick: () => this.act(step.id, 'confirm', ''),
        }, 'Confirm'));
    }
    if (tickable) {
      buttons.push(this.button(step, 'note', 'Tick with note…', `Tick step ${number} with a note`));
    }
    if (can.tick && (step.status === 'pending' || step.status === 'failed')) {
      buttons.push(this.button(step, 'skip', 'Skip…', `Skip step ${number}`));
    }
    if (can.tick && (step.status === 'pending' || awaiting)) {
      buttons.push(this.button(step, 'fail', 'Failed…', `Mark step ${number} failed`));
    }
    if (can.untick && step.status !== 'pending') {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn btn-small',
        dataset: { action: 'untick' },
        disabled: ui.busy,
        'aria-label': `Untick step ${number}: ${step.title}`,
        onclick: () => this.act(step.id, 'untick', ''),
      }, 'Untick'));
    }
    replace(c.actions, buttons);
    c.actions.hidden = buttons.length === 0;

    c.msg.textContent = ui.msg ? ui.msg.text : ui.busy ? 'Sending…' : '';
    c.msg.className = `step-msg${ui.msg ? ` msg-${ui.msg.kind}` : ''}`;
    if (!can.tick && ui.form && ui.form !== 'untick') this.closeForm(step.id);

    if (focusedAction && !c.el.contains(document.activeElement)) {
      const again = c.el.querySelector(`[data-action="${focusedAction}"]`);
      (again && !again.disabled ? again : c.el).focus({ preventScroll: true });
    }
  }

  // A switch step says which switch it moves and to where (and where the switch is now); a
  // verification step says what it verifies (rules may require it recent).
  switchLine(step) {
    const move = step.switch && step.switch.name ? step.switch : null;
    if (!move && !step.verifies) return null;
    const parts = [];
    if (move) {
      const sw = ((this.migration && this.migration.switches) || []).find((x) => x.name === move.name);
      parts.push(h('span', { class: 'step-switch-move' },
        h('span', { 'aria-hidden': 'true' }, '⇄ '), 'Moves switch ', h('strong', null, move.name),
        ' to ', h('strong', null, `'${move.position}'`)),
      sw ? h('span', { class: 'step-switch-now' },
        sw.position === move.position ? ` (${move.name} is there now)` : ` (now at '${sw.position}')`) : null);
    }
    if (step.verifies) {
      parts.push(h('span', { class: 'step-verifies' }, `${move ? ' · ' : ''}Verifies `, h('strong', null, step.verifies)));
    }
    return h('p', { class: 'step-switch' }, parts);
  }

  whoText(step) {
    if (!step.by || !step.at) return step.note ? `Note: ${step.note}` : '';
    const name = step.by.name || step.by.sub;
    const note = step.note ? ` — ${step.note}` : '';
    if (step.status === 'awaiting_confirmation') {
      return `Awaiting confirmation — ticked by ${name} at ${hms(step.at)}${note}`;
    }
    const verb = { done: 'Ticked', skipped: 'Skipped', failed: 'Marked failed', pending: 'Unticked' }[step.status] || statusWord(step.status);
    let text = `${verb} by ${name} at ${hms(step.at)}${note}`;
    if (step.status === 'done' && step.confirmed_by) {
      text += `; confirmed by ${step.confirmed_by.name || step.confirmed_by.sub} at ${hms(step.confirmed_at)}`;
      if (step.confirm_note) text += ` — ${step.confirm_note}`;
    }
    return text;
  }

  button(step, kind, text, label) {
    return h('button', {
      type: 'button',
      class: 'btn btn-small',
      dataset: { action: kind },
      'aria-label': label,
      'aria-expanded': this.uiOf(step.id).form === kind ? 'true' : 'false',
      disabled: this.uiOf(step.id).busy,
      onclick: () => this.openForm(step.id, kind),
    }, text);
  }

  // The small inline form that asks for a note (tick, fail) or a reason (skip).
  openForm(id, kind) {
    const c = this.cards.get(id);
    if (!c) return;
    const ui = this.uiOf(id);
    ui.form = kind;
    const spec = {
      note: { label: 'Note (optional)', submit: 'Tick', action: 'tick', required: false },
      skip: { label: 'Reason for skipping', submit: 'Skip step', action: 'skip', required: true },
      fail: { label: 'What failed', submit: 'Mark failed', action: 'fail', required: true },
    }[kind];
    const inputId = `step-${id}-${kind}`;
    const input = h('input', { id: inputId, type: 'text', class: 'form-input', autocomplete: 'off', 'aria-required': spec.required ? 'true' : null });
    const form = h('form', {
      class: `inline-form form-${kind}`,
      onsubmit: (e) => {
        e.preventDefault();
        const text = input.value.trim();
        if (spec.required && !text) {
          input.focus();
          ui.msg = { kind: 'error', text: `${spec.label} is required.` };
          this.update(c.step);
          return;
        }
        this.act(id, spec.action, text);
      },
      onkeydown: (e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          this.closeForm(id);
          c.el.focus();
        }
      },
    },
    h('label', { for: inputId, class: 'field-label' }, spec.label),
    h('div', { class: 'inline-row' },
      input,
      h('button', { type: 'submit', class: kind === 'note' ? 'btn btn-primary' : 'btn btn-warn' }, spec.submit),
      h('button', { type: 'button', class: 'btn', onclick: () => { this.closeForm(id); c.el.focus(); } }, 'Cancel')));
    replace(c.form, form);
    this.update(c.step);
    input.focus();
  }

  closeForm(id) {
    const c = this.cards.get(id);
    const ui = this.uiOf(id);
    ui.form = null;
    if (c) {
      c.form.replaceChildren();
      this.update(c.step);
    }
  }

  async copy(step, button) {
    const ok = await copyText(step.command);
    const c = this.cards.get(step.id);
    if (c) {
      const btn = button && button.isConnected ? button : c.el.querySelector('[data-action="copy"]');
      if (btn) {
        btn.textContent = ok ? 'Copied ✓' : 'Copy failed';
        setTimeout(() => {
          if (btn.isConnected) btn.textContent = 'Copy';
        }, 1500);
      }
    }
  }

  // Send one step action. One Idempotency-Key per click, kept across retries inside request().
  async act(id, action, text) {
    const c = this.cards.get(id);
    const ui = this.uiOf(id);
    if (!c || ui.busy) return;
    const body = action === 'tick' || action === 'confirm' ? (text ? { note: text } : {})
      : action === 'untick' ? (text ? { reason: text } : {})
        : action === 'skip' ? { reason: text } : { note: text };
    ui.busy = true;
    ui.msg = null;
    this.update(c.step);
    try {
      const step = await api.stepAction(this.opts.mid, id, action, body, uuid());
      ui.busy = false;
      if (ui.form) this.closeForm(id);
      this.opts.onStep(step);
    } catch (err) {
      ui.busy = false;
      if (err.status === 409 && err.body && err.body.current && err.body.current.id !== undefined) {
        // Someone else was first: show who, and what the step is now. Not an error page.
        ui.msg = { kind: 'conflict', text: conflictText(err.body.current), version: err.body.current.version };
        if (ui.form) this.closeForm(id);
        this.opts.onStep(err.body.current);
      } else if (err.status !== 401) {
        ui.msg = { kind: 'error', text: errorText(err) };
      }
    }
    const now = this.cards.get(id);
    if (now) this.update(now.step);
  }

  focusedCard() {
    const el = document.activeElement && document.activeElement.closest && document.activeElement.closest('.step');
    if (!el || !this.list.contains(el)) return null;
    return this.cards.get(Number(el.dataset.id)) || this.cards.get(el.dataset.id) || null;
  }

  move(delta) {
    const cards = [...this.list.children];
    if (cards.length === 0) return;
    const cur = this.focusedCard();
    let i = cur ? cards.indexOf(cur.el) + delta : delta > 0 ? 0 : cards.length - 1;
    i = Math.max(0, Math.min(cards.length - 1, i));
    cards[i].focus();
    cards[i].scrollIntoView({ block: 'nearest' });
  }

  // Keyboard shortcuts of the checklist. Returns true when the key was handled.
  handleKey(e) {
    const key = e.key;
    const active = document.activeElement;
    const onCard = Boolean(active && active.classList && active.classList.contains('step'));
    // Arrows move between steps only from a step or from nowhere in particular; elsewhere they
    // keep their usual meaning (scrolling, moving in a list).
    const free = onCard || !active || active === document.body || active.id === 'app';
    if (key === 'j' || (key === 'ArrowDown' && free)) {
      this.move(1);
      return true;
    }
    if (key === 'k' || (key === 'ArrowUp' && free)) {
      this.move(-1);
      return true;
    }
    const c = this.focusedCard();
    if (!c) return false;
    // Space on a focused button presses that button; only on the card itself does it tick.
    if (key === ' ' && !onCard) return false;
    const can = this.opts.canAct(c.step);
    const id = c.step.id;
    const st = c.step.status;
    if ((key === 'x' || key === ' ') && can.tick && (st === 'pending' || st === 'failed')) {
      this.act(id, 'tick', '');
      return true;
    }
    if ((key === 'x' || key === ' ') && can.tick && st === 'awaiting_confirmation'
      && !(c.step.by && c.step.by.sub === this.opts.me.sub)) {
      this.act(id, 'confirm', '');
      return true;
    }
    if (key === 'n' && can.tick && (st === 'pending' || st === 'failed')) {
      this.openForm(id, 'note');
      return true;
    }
    if (key === 's' && can.tick && (st === 'pending' || st === 'failed')) {
      this.openForm(id, 'skip');
      return true;
    }
    if (key === 'f' && can.tick && (st === 'pending' || st === 'awaiting_confirmation')) {
      this.openForm(id, 'fail');
      return true;
    }
    if (key === 'u' && can.untick && st !== 'pending') {
      this.act(id, 'untick', '');
      return true;
    }
    if (key === 'c' && c.step.command) {
      this.copy(c.step, null);
      return true;
    }
    return key === ' '; // never let Space scroll the page away from a focused step
  }

  // Say plainly when the screen may be out of date.
  setStale(text) {
    this.stale.hidden = !text;
    this.stale.textContent = text || '';
    this.el.classList.toggle('is-stale', Boolean(text));
  }
}
