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
};

// One line of text for an audit event; stageTitle(key) names stages.
export function describe(ev, stageTitle) {
  const verb = VERBS[ev.action] || ev.action;
  const obj = ev.after || ev.before || {};
  if (ev.action && ev.action.startsWith('step.') && obj.title) return `${verb} “${obj.title}”`;
  if (ev.action === 'stage.complete') {
    const key = obj.key || obj.stage || (typeof ev.target === 'string' ? ev.target.split('/').pop() : '');
    return `completed ${stageTitle(key) || key}`;
  }
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
    const cls = `tl-item tl-${String(ev.action || '').replace(/[^a-z_]/g, '-')}`;
    return h('li', { class: cls, dataset: { seq: String(ev.seq) } },
      h('time', { datetime: ev.at || '', class: 'tl-time' }, hms(ev.at)),
      h('span', { class: 'tl-text' },
        h('strong', { class: 'tl-who' }, who), ' ', describe(ev, this.stageTitle)),
      ev.note ? h('span', { class: 'tl-note' }, ev.note) : null);
  }
}
