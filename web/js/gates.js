// gates.js - what must be true before the flight moves, on screen: per stage a go/no-go board
// (each required team: go, no-go, stale or waiting, with who signed and when), the briefings with
// their acknowledgements (stale ones marked) and feedback, and the words for what a start or a
// stage completion still waits for.
//
// The server decides; this only shows its verdicts (the migration document's "gate" per stage and
// "start_gate") and sends people's decisions. Every change arrives back as an event and the
// cockpit re-reads the document, so a go given on another screen appears here too.

import { api } from './api.js';
import { confirmDialog, formDialog, infoDialog } from './dialog.js';
import { dateTime, h, hms, replace, uuid } from './dom.js';

const ACTORS = new Set(['engineer', 'lead', 'admin']);
const LEADS = new Set(['lead', 'admin']);

const GATE_WORDS = { go: 'Go', no_go: 'No-go', stale: 'Stale', waiting: 'Waiting' };

// One phrase per missing sign-off: "sre go (0/1)", "sre go (1/2, stale)", "dba said no-go".
export function signoffPhrase(m) {
  if (m.reason === 'no_go') return `${m.team} said no-go`;
  if (m.reason === 'stale') return `${m.team} go (${m.have}/${m.need}, stale: the stage changed)`;
  return `${m.team} go (${m.have}/${m.need})`;
}

// One phrase per missing acknowledgement: "sre acknowledgement", "sre acknowledgement (stale)".
export function ackPhrase(m) {
  return m.reason === 'stale' ? `${m.team} acknowledgement (stale: the plan changed)` : `${m.team} acknowledgement`;
}

// What a start waits for, from start_gate or a 409 body (missing, unresolved_feedback,
// signoffs_missing): a list of phrases, empty when nothing is missing.
export function startWaitsFor(g) {
  if (!g) return [];
  const out = (g.missing || []).map(ackPhrase);
  const fb = (g.unresolved_feedback || []).length;
  if (fb) out.push(`${fb} unresolved feedback item${fb === 1 ? '' : 's'}`);
  for (const m of g.signoffs_missing || []) out.push(signoffPhrase(m));
  return out;
}

// What a stage's gate waits for (its "missing"), as phrases.
export function gateWaitsFor(gate) {
  return ((gate && gate.missing) || []).map(signoffPhrase);
}

function canAct(me) {
  return ACTORS.has(me.role);
}

function member(me, team) {
  return Array.isArray(me.teams) && me.teams.includes(team);
}

function readOnly(doc) {
  return doc.status === 'closed' || doc.status === 'aborted';
}

async function send(fn, what) {
  try {
    await fn();
    return true;
  } catch (err) {
    if (err.status !== 401) await infoDialog(`${what}: refused`, h('p', null, err.message));
    return false;
  }
}

// ---- the go/no-go board -----------------------------------------------------------------------

export class GoNoGoBoard {
  // opts: {mid, me, onChanged()}
  constructor(opts) {
    this.opts = opts;
    this.body = h('div', { class: 'gate-stages' });
    this.el = h('section', { class: 'panel gonogo', 'aria-labelledby': 'gonogo-title', hidden: true },
      h('h2', { id: 'gonogo-title' }, 'Go / no-go'), this.body);
  }

  // Every stage still ahead (or active) that asks for sign-offs, in flight order; hidden when none
  // does.
  render(doc) {
    const stages = doc.stages.filter((s) => s.status !== 'done' && (s.signoffs_required || []).length > 0 && s.gate);
    this.el.hidden = stages.length === 0;
    replace(this.body, stages.map((s) => this.stage(doc, s)));
  }

  stage(doc, stage) {
    const gate = stage.gate;
    const word = stage.status === 'done' ? 'Done' : gate.satisfied ? 'Cleared' : 'Not cleared';
    const shared = stage.allow_shared_signers ? ' · one person may sign for several teams' : '';
    return h('div', {
      class: `gate-stage ${gate.satisfied ? 'gate-ok' : 'gate-blocked'} stage-${stage.status}`,
      dataset: { stage: stage.key },
      role: 'group',
      'aria-label': `Go/no-go for ${stage.title}: ${word}`,
    },
    h('div', { class: 'gate-stage-head' },
      h('h3', null, stage.title || stage.key),
      h('span', { class: `badge gate-verdict ${gate.satisfied ? 'gate-go' : 'gate-waiting'}` }, word),
      h('span', { class: 'hint' }, `${stage.status === 'active' ? 'active stage' : stage.status === 'done' ? 'done' : 'needed before it begins'}${shared}`)),
    h('ul', { class: 'gate-teams' }, (gate.teams || []).map((t) => this.team(doc, stage, t))));
  }

  team(doc, stage, t) {
    const { me } = this.opts;
    const open = stage.status !== 'done' && !readOnly(doc);
    const mine = member(me, t.team);
    const actions = [];
    if (open && canAct(me) && mine) {
      actions.push(
        h('button', {
          type: 'button',
          class: 'btn btn-small btn-go',
          'aria-label': `Sign go for ${t.team} on ${stage.title}`,
          onclick: () => this.sign(stage, t.team, 'go'),
        }, 'Go'),
        h('button', {
          type: 'button',
          class: 'btn btn-small btn-nogo',
          'aria-label': `Sign no-go for ${t.team} on ${stage.title}`,
          onclick: () => this.sign(stage, t.team, 'no_go'),
        }, 'No-go'));
    } else if (open && me.role === 'admin' && !mine) {
      actions.push(h('button', {
        type: 'button',
        class: 'btn btn-small btn-warn',
        'aria-label': `Override for ${t.team} on ${stage.title}`,
        onclick: () => this.override(stage, t.team),
      }, 'Override…'));
    }
    const status = GATE_WORDS[t.status] || t.status;
    return h('li', { class: `gate-team gate-${t.status}`, dataset: { team: t.team } },
      h('div', { class: 'gate-team-head' },
        h('span', { class: 'gate-team-name' }, t.team),
        h('span', { class: `badge gate-badge gate-${t.status}` }, status),
        h('span', { class: 'gate-count', 'aria-label': `${t.have} of ${t.need} needed` }, `${t.have}/${t.need}`)),
      (t.signers || []).length
        ? h('ul', { class: 'signers', 'aria-label': `Who signed for ${t.team}` }, t.signers.map((s) => h('li', {
          class: `signer signer-${s.decision}${s.stale ? ' signer-stale' : ''}`,
        },
        h('span', { class: 'signer-name' }, s.name || s.sub),
        ` ${s.decision === 'go' ? 'go' : 'no-go'} at ${hms(s.at)}`,
        s.comment ? h('span', { class: 'signer-comment' }, ` — ${s.comment}`) : null,
        s.stale ? h('span', { class: 'stale-mark' }, ' (stale: the stage changed since)') : null)))
        : h('p', { class: 'hint signers-none' }, 'Nobody has signed yet.'),
      actions.length ? h('div', { class: 'gate-actions' }, actions) : null);
  }

  async sign(stage, team, decision) {
    const go = decision === 'go';
    const ans = await confirmDialog({
      title: `${go ? 'Go' : 'No-go'} for ${team} on ${stage.title}?`,
      body: go
        ? `You give ${team}'s go for ${stage.title} as it is planned now. If its steps change, the go goes stale and must be given again.`
        : `A no-go from ${team} stops ${stage.title} from beginning until ${team} gives a new go. Say why, so the crew can act on it.`,
      confirmLabel: go ? 'Sign go' : 'Sign no-go',
      danger: !go,
      reason: { label: go ? 'Comment (optional)' : 'Comment', required: !go },
    });
    if (!ans.ok) return;
    const body = { team, decision };
    if (ans.reason) body.comment = ans.reason;
    if (await send(() => api.signoff(this.opts.mid, stage.key, body, uuid()), 'Sign-off')) this.opts.onChanged();
  }

  // An admin outside the team: a go given for it, with a reason that is audited.
  async override(stage, team) {
    const ans = await confirmDialog({
      title: `Override ${team}'s go for ${stage.title}?`,
      body: `You are not in ${team}. An override counts as ${team}'s go and is recorded in the flight recorder with your reason.`,
      confirmLabel: 'Override with go',
      danger: true,
      reason: { label: 'Override reason', required: true },
    });
    if (!ans.ok) return;
    const body = { team, decision: 'go', override_reason: ans.reason };
    if (await send(() => api.signoff(this.opts.mid, stage.key, body, uuid()), 'Override')) this.opts.onChanged();
  }
}

// ---- briefings ------------------------------------------------------------------------------

// The latest acknowledgement of `team` in a briefing, or null.
function latestAck(briefing, team) {
  let best = null;
  for (const a of briefing.acks || []) {
    if (a.team !== team) continue;
    if (!best || a.plan_rev > best.plan_rev || (a.plan_rev === best.plan_rev && a.at > best.at)) best = a;
  }
  return best;
}

export class BriefingsPanel {
  // opts: {mid, me, onChanged()}
  constructor(opts) {
    this.opts = opts;
    this.items = [];
    this.summaryText = h('span', { class: 'briefing-summary' });
    this.actions = h('div', { class: 'briefing-actions' });
    this.list = h('ol', { class: 'briefing-list', 'aria-label': 'Briefings' });
    this.el = h('details', { class: 'panel briefings' },
      h('summary', null, h('h2', { id: 'briefings-title' }, 'Briefings'), this.summaryText),
      this.actions, this.list);
    this.userToggled = false;
    this.el.addEventListener('toggle', () => {
      if (this.programmatic) return;
      this.userToggled = true;
    });
  }

  setItems(items) {
    this.items = Array.isArray(items) ? items : [];
  }

  render(doc) {
    this.doc = doc;
    const { me } = this.opts;
    const waiting = new Set();
    for (const b of this.items) {
      for (const t of b.teams || []) {
        const a = latestAck(b, t);
        if (!a || a.stale) waiting.add(t);
      }
    }
    // Acknowledged on another briefing at the current plan: not waiting.
    for (const b of this.items) for (const a of b.acks || []) if (!a.stale) waiting.delete(a.team);
    const open = this.items.reduce((n, b) => n + (b.feedback || []).filter((f) => !f.resolved).length, 0);
    const parts = [`${this.items.length} held`];
    if (this.items.length) parts.push(waiting.size ? `acknowledgement missing or stale: ${[...waiting].join(', ')}` : 'every team acknowledged the current plan');
    if (open) parts.push(`${open} unresolved feedback`);
    this.summaryText.textContent = ` · ${parts.join(' · ')}`;
    // Open by itself before take-off, or when one of my teams still has to acknowledge.
    if (!this.userToggled) {
      const mine = [...waiting].some((t) => member(me, t));
      this.programmatic = true;
      this.el.open = doc.status === 'draft' || mine;
      this.programmatic = false;
    }
    const lead = LEADS.has(me.role) && !readOnly(doc);
    // Nothing held and nothing this person can start: keep the cockpit for the checklist.
    this.el.hidden = this.items.length === 0 && !lead;
    replace(this.actions, lead
      ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.create() }, 'New briefing…')
      : null);
    replace(this.list, this.items.length
      ? [...this.items].reverse().map((b) => this.briefing(doc, b))
      : h('li', { class: 'empty' }, 'No briefing held yet.'));
  }

  briefing(doc, b) {
    const { me } = this.opts;
    const live = !readOnly(doc);
    const acks = (b.teams || []).map((team) => {
      const a = latestAck(b, team);
      let text;
      let cls;
      if (!a) {
        text = 'not acknowledged';
        cls = 'ack-none';
      } else if (a.stale) {
        text = `acknowledged rev ${a.plan_rev} by ${a.by.name || a.by.sub} — plan changed since (now rev ${b.plan_rev})`;
        cls = 'ack-stale';
      } else {
        text = `acknowledged by ${a.by.name || a.by.sub} at ${hms(a.at)} (rev ${a.plan_rev})`;
        cls = 'ack-current';
      }
      const canAck = live && canAct(me) && member(me, team) && (!a || a.stale);
      return h('li', { class: `ack ${cls}`, dataset: { team } },
        h('span', { class: 'ack-team' }, `${team}:`), h('span', { class: 'ack-text' }, text),
        a && a.comment ? h('span', { class: 'ack-comment' }, ` — ${a.comment}`) : null,
        canAck ? h('button', {
          type: 'button',
          class: 'btn btn-small btn-primary',
          'aria-label': `Acknowledge the plan for ${team}`,
          onclick: () => this.ack(b, team),
        }, `Acknowledge for ${team}`) : null);
    });
    const feedback = (b.feedback || []).map((f) => h('li', { class: `feedback ${f.resolved ? 'feedback-resolved' : 'feedback-open'}` },
      h('p', { class: 'feedback-text' }, f.text),
      h('p', { class: 'hint' }, `${f.by.name || f.by.sub} at ${hms(f.at)}`),
      f.resolved
        ? h('p', { class: 'feedback-resolution' }, `Resolved by ${(f.resolved_by && (f.resolved_by.name || f.resolved_by.sub)) || 'a lead'}: ${f.resolution || ''}`)
        : LEADS.has(me.role) && live
          ? h('button', {
            type: 'button',
            class: 'btn btn-small',
            'aria-label': `Resolve feedback: ${f.text.slice(0, 60)}`,
            onclick: () => this.resolve(b, f),
          }, 'Resolve…')
          : h('p', { class: 'feedback-unresolved' }, 'Unresolved: holds the start until a lead resolves it.')));
    return h('li', { class: 'briefing', dataset: { id: String(b.id) } },
      h('h3', null, b.title),
      h('p', { class: 'hint' }, `${dateTime(b.at)} · called by ${b.by ? b.by.name || b.by.sub : 'a lead'}`),
      b.notes ? h('p', { class: 'briefing-notes' }, b.notes) : null,
      h('ul', { class: 'acks', 'aria-label': `Acknowledgements of ${b.title}` }, acks),
      feedback.length ? [h('h4', null, 'Feedback'), h('ul', { class: 'feedback-list' }, feedback)] : null,
      live && canAct(me) ? h('button', {
        type: 'button',
        class: 'btn btn-small',
        'aria-label': `Give feedback on ${b.title}`,
        onclick: () => this.giveFeedback(b),
      }, 'Give feedback…') : null);
  }

  async create() {
    const doc = this.doc;
    const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    const ans = await formDialog({
      title: 'New briefing',
      body: 'Brief the affected teams on the plan. Each team acknowledges it; a later plan change makes acknowledgements stale.',
      confirmLabel: 'Create briefing',
      fields: [
        { name: 'title', label: 'Title', kind: 'text', required: true, value: 'Take-off briefing' },
        { name: 'at', label: 'When', kind: 'datetime', required: true, value: now },
        { name: 'notes', label: 'Notes', kind: 'textarea' },
        { name: 'teams', label: 'Teams', kind: 'checks', required: true, options: (doc.teams || []).map((t) => ({ value: t, label: t, checked: true })) },
      ],
    });
    if (!ans.ok) return;
    const at = new Date(ans.values.at);
    const body = { title: ans.values.title, at: Number.isNaN(at.getTime()) ? ans.values.at : at.toISOString(), teams: ans.values.teams };
    if (ans.values.notes) body.notes = ans.values.notes;
    if (await send(() => api.createBriefing(this.opts.mid, body, uuid()), 'Briefing')) this.opts.onChanged();
  }

  async ack(b, team) {
    const ans = await confirmDialog({
      title: `Acknowledge the plan for ${team}?`,
      body: `You confirm that ${team} was briefed on the plan as it is now (revision ${b.plan_rev}).`,
      confirmLabel: 'Acknowledge',
      reason: { label: 'Comment (optional)', required: false },
    });
    if (!ans.ok) return;
    const body = { team };
    if (ans.reason) body.comment = ans.reason;
    if (await send(() => api.ack(this.opts.mid, b.id, body, uuid()), 'Acknowledgement')) this.opts.onChanged();
  }

  async giveFeedback(b) {
    const ans = await confirmDialog({
      title: `Feedback on ${b.title}`,
      body: 'Feedback holds the start until a lead resolves it (often by changing a step).',
      confirmLabel: 'Send feedback',
      reason: { label: 'Feedback', required: true },
    });
    if (!ans.ok) return;
    if (await send(() => api.feedback(this.opts.mid, b.id, ans.reason, uuid()), 'Feedback')) this.opts.onChanged();
  }

  async resolve(b, f) {
    const ans = await confirmDialog({
      title: 'Resolve feedback',
      body: h('blockquote', { class: 'feedback-quote' }, f.text),
      confirmLabel: 'Resolve',
      reason: { label: 'Resolution', required: true },
    });
    if (!ans.ok) return;
    if (await send(() => api.resolveFeedback(this.opts.mid, b.id, f.id, ans.reason, uuid()), 'Resolution')) this.opts.onChanged();
  }
}
