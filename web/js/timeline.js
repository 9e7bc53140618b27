// timeline.js - the live flight recorder beside the checklist: who did what, when, newest first.

import { h, hms, replace } from './dom.js';

const MAX_SHOWN = 300;

const VERBS = {
  'step.tick': 'ticked',
  'step.untick': 'unticked',
  'step.skip': 'skipped',
  'step.fail': 'marked failed',
  'step.add': 'added the step',
  'step.update': 'edited the step',
  'step.delete': 'removed the step',
  'step.confirm': 'confirmed',
  'migration.create': 'created the migration',
  'migration.update': 'edited the plan',
  'migration.start': 'started the migration',
  'migration.abort': 'aborted the migration',
  'migration.landed': 'landed the migration',
  'migration.closed': 'closed the migration',
  'stage.complete': 'completed the stage',
  'stage.update': 'changed the stage',
  'step.overdue': 'flagged as overdue',
  'stage.overdue': 'flagged the stage as overdue',
  'signoff.create': 'signed',
  'signoff.override': 'overrode a sign-off',
  'gate.override': 'overrode a gate',
  'briefing.create': 'called a briefing',
  'briefing.ack': 'acknowledged the plan',
  'feedback.create': 'gave feedback',
  'feedback.resolve': 'resolved feedback',
  'rollback.arm': 'armed the rollback PR',
  'rollback.armed': 'the go-around is armed',
  'rollback.disarmed': 'the go-around is not armed',
  'go_around.requested': 'ordered a go-around',
  'go_around.started': 'started the go-around',
  'go_around.merged': 'went around',
  'go_around.failed': 'the go-around failed',
  'go_around.expired': 'the go-around request expired',
  'landing.reopen': 're-opened landing',
  'switch.move': 'moved a switch',
  'switch.revert': 'reverted a switch',
  'switch.applied': 'applied a switch',
  'switch.failed': 'a flag call failed',
};

const short = (sha) => (typeof sha === 'string' ? sha.slice(0, 7) : '');

// The stage key at the end of a target such as "migrations/m/stages/inflight".
function stageKey(ev, obj) {
  if (obj.key || obj.stage) return obj.key || obj.stage;
  const m = /\/stages\/([^/]+)/.exec(typeof ev.target === 'string' ? ev.target : '');
  return m ? m[1] : '';
}

const clip = (s, n = 100) => (s && s.length > n ? `${s.slice(0, n - 1)}…` : s || '');

// One line of text for an audit event; stageTitle(key) names stages.
export function describe(ev, stageTitle) {
  const verb = VERBS[ev.action] || ev.action;
  const obj = ev.after || ev.before || {};
  const stage = () => {
    const key = stageKey(ev, obj);
    return stageTitle(key) || key;
  };
  switch (ev.action) {
    case 'step.overdue':
      return `“${obj.title || 'a step'}” is past its expected time`;
    case 'stage.overdue':
      return `${stage()} is past its expected ${obj.expected_minutes ?? '?'} min`;
    case 'stage.complete':
      return `completed ${stage()}`;
    case 'stage.update':
      return `changed the go/no-go requirements of ${stage()}`;
    case 'signoff.create':
      return `signed ${obj.decision === 'no_go' ? 'no-go' : 'go'} for ${obj.team} on ${stage()}`;
    case 'signoff.override':
      return `overrode ${obj.team}'s ${obj.decision === 'no_go' ? 'no-go' : 'go'} on ${stage()}`;
    case 'gate.override':
      return obj.kind === 'start' ? 'overrode the start gate' : `overrode the gate of ${stage()}`;
    case 'briefing.create':
      return `called the briefing “${obj.title || ''}”`;
    case 'briefing.ack':
      return `acknowledged the plan for ${obj.team}${obj.plan_rev ? ` (rev ${obj.plan_rev})` : ''}`;
    case 'feedback.create':
      return `gave feedback: “${clip(obj.text)}”`;
    case 'feedback.resolve':
      return `resolved feedback: “${clip(obj.text)}”`;
    case 'rollback.arm':
      return `armed the rollback PR ${obj.repo}#${obj.pr} at ${short(obj.approved_sha)}`;
    case 'rollback.armed':
      return 'found the go-around armed';
    case 'rollback.disarmed':
      return `found the go-around not armed: ${(obj.reasons || []).map((r) => r.text).join('; ') || 'no reason given'}`;
    case 'go_around.requested':
      return 'ordered a go-around; a second lead must confirm';
    case 'go_around.started':
      return `started the go-around: merging ${obj.pr ? `${obj.pr.repo}#${obj.pr.number}` : 'the rollback PR'}`;
    case 'go_around.merged':
      return `went around: the rollback PR was merged as ${short(obj.merge_sha)}; landing stopped`;
    case 'go_around.failed':
      return `ordered a go-around that failed: ${String(obj.outcome || 'error').replace(/_/g, ' ')}`;
    case 'go_around.expired':
      return 'ordered a go-around that expired: no second lead confirmed in time';
    case 'switch.move':
      return `moved ${obj.switch} to '${obj.position}'`;
    case 'switch.revert':
      return `reverted ${obj.switch} to '${obj.position}'`;
    case 'switch.applied':
      return `confirmed ${obj.switch} is applied at '${obj.position}'`;
    case 'switch.failed':
      return `could not apply ${obj.switch} → '${obj.position}' (the flag call failed)`;
    default:
      break;
  }
  if (ev.action && ev.action.startsWith('step.') && obj.title) return `${verb} “${obj.title}”`;
  return verb;
}

export class Timeline {
  constructor() {
    this.events = new Map(); // seq -> event
    this.list = h('ol', { class: 'timeline', 'aria-label': 'Timeline, newest first' });
    this.el = h('section', { class: 'panel timeline-panel', 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, 'Timeline'), this.list);
    this.stageTitle = () => '';
  }

  // The highest seq held (to resume the stream from).
  lastSeq() {
    let max = 0;
    for (const seq of this.events.keys()) if (seq > max) max = seq;
    return max;
  }

  // Add events (any order, duplicates ignored); re-draws only what is needed.
  add(events) {
    let newest = this.lastSeq();
    let inOrder = true;
    const fresh = [];
    for (const ev of events) {
      const seq = Number(ev.seq);
      if (!Number.isFinite(seq) || this.events.has(seq)) continue;
      this.events.set(seq, ev);
      if (seq < newest) inOrder = false;
      newest = Math.max(newest, seq);
      fresh.push(ev);
    }
    if (fresh.length === 0) return;
    if (!inOrder || this.list.children.length === 0) {
      this.redraw();
      return;
    }
    for (const ev of fresh.sort((a, b) => a.seq - b.seq)) this.list.prepend(this.item(ev));
    while (this.list.children.length > MAX_SHOWN) this.list.lastElementChild.remove();
  }

  redraw() {
    const seqs = [...this.events.keys()].sort((a, b) => b - a).slice(0, MAX_SHOWN);
    replace(this.list, seqs.map((seq) => this.item(this.events.get(seq))));
  }

  item(ev) {
    const who = (ev.actor && (ev.actor.name || ev.actor.sub)) || 'system';
    const action = String(ev.action || '');
    const alert = action.endsWith('.overdue') || action.endsWith('.override') || action === 'rollback.disarmed'
      || action === 'go_around.failed' || action === 'switch.failed' || action === 'switch.revert' ? ' tl-alert' : '';
    const cls = `tl-item tl-${action.replace(/[^a-z_]/g, '-')}${alert}`;
    return h('li', { class: cls, dataset: { seq: String(ev.seq) } },
      h('time', { datetime: ev.at || '', class: 'tl-time' }, hms(ev.at)),
      h('span', { class: 'tl-text' },
        h('strong', { class: 'tl-who' }, who), ' ', describe(ev, this.stageTitle)),
      ev.note ? h('span', { class: 'tl-note' }, ev.note) : null);
  }
}
