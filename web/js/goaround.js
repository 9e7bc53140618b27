// goaround.js - the go-around panel: is the pre-approved rollback pull request armed (green) or
// not (red, with every reason in words), which PR and which approved commit, when it was last
// checked; the big GO-AROUND button (a reason, then the migration id typed to confirm), its
// progress while GitHub merges, and the outcome in plain words; a pending request visible to the
// other leads with a Confirm button; after a merge, re-open landing or abort.
//
// The server decides and checks (core/rollback.h); this shows its verdicts. The rollback
// document is read on load, on every rollback.* / go_around.* / landing.reopen event, and every
// POLL_MS (so "last checked" stays honest between state changes, which are the only events).

import { api } from './api.js';
import { confirmDialog, formDialog } from './dialog.js';
import { h, hms, replace, shortSha, uuid } from './dom.js';

const LEADS = new Set(['lead', 'admin']);
const POLL_MS = 20000;
const AGO_MS = 5000;
const MERGE_METHODS = ['merge', 'squash', 'rebase'];

// The outcome of a failed go-around in words a person acts on. x: {approved, head, repo,
// number, by, detail}. Each says what happened and what to do next.
export function outcomeWords(code, x = {}) {
  const pr = x.repo ? `${x.repo}#${x.number}` : 'the rollback PR';
  switch (code) {
    case 'head_changed':
      return `the PR changed after approval (approved ${shortSha(x.approved) || 'unknown'}, now ${shortSha(x.head) || 'unknown'}) — re-arm after review`;
    case 'not_mergeable':
      return `GitHub says ${pr} cannot be merged (a conflict, or branch protection) — resolve it, then re-arm`;
    case 'unprocessable':
      return 'GitHub refused the merge request as invalid — check the merge method allowed in the repository';
    case 'pr_closed':
      return `${pr} is closed without being merged — arm a new rollback PR`;
    case 'pr_not_found':
      return `GitHub cannot find ${pr} any more (deleted, or the token cannot see it) — arm a new rollback PR`;
    case 'in_progress':
      return `a go-around is already under way${x.by ? ` (ordered by ${x.by})` : ''} — wait for its outcome`;
    case 'token_rejected':
      return 'GitHub refused flightdeck\'s token (wrong, expired or revoked) — an admin must replace FLIGHTDECK_GITHUB_TOKEN';
    case 'no_permission':
      return `flightdeck's token may not merge in ${x.repo || 'the repository'} — give it write access, or merge by hand`;
    case 'no_token':
      return 'flightdeck has no GitHub token, so it cannot merge — configure FLIGHTDECK_GITHUB_TOKEN, or merge by hand';
    case 'github_unavailable':
      return 'GitHub did not answer in time (or answered with a server error) and the PR is not merged — try again';
    case 'github_error':
      return 'GitHub answered something unexpected and the PR is not merged — try again, or merge by hand';
    default:
      return x.detail || 'the go-around failed';
  }
}

function who(p) {
  return (p && (p.name || p.sub)) || 'someone';
}

function ago(iso, now) {
  const t = iso ? new Date(iso).getTime() : NaN;
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

function flying(doc) {
  return doc && (doc.status === 'in_flight' || doc.status === 'landed');
}

function readOnly(doc) {
  return doc && (doc.status === 'closed' || doc.status === 'aborted');
}

export class GoAroundPanel {
  // opts: {mid, me, onDoc(migrationDoc) (a new migration document to show),
  //        onAbort() (the cockpit's abort flow)}
  constructor(opts) {
    this.opts = opts;
    this.isLead = LEADS.has(opts.me.role);
    this.doc = null;
    this.rb = undefined; // the rollback document; null: none armed; undefined: not read yet
    this.busy = null; // {kind: 'merge'|'confirm'|'arm'|'check'|'reopen', since, text}
    this.message = null; // {kind: 'error'|'ok', text}: the answer to this person's last action
    this.heads = new Map(); // go-around id -> the head GitHub reported when it refused (409)
    this.request = 0;
    this.loadTimer = null;
    this.tick = null;
    this.destroyed = false;

    this.state = h('span', { class: 'badge ga-state' });
    this.info = h('div', { class: 'ga-info' });
    this.actions = h('div', { class: 'ga-actions', role: 'group', 'aria-label': 'Go-around actions' });
    this.progress = h('div', { class: 'ga-progress', role: 'status', 'aria-live': 'polite' });
    this.outcome = h('div', { class: 'ga-outcome', 'aria-live': 'polite' });
    this.msg = h('p', { class: 'ga-msg', role: 'alert' });
    this.el = h('section', { class: 'panel goaround', 'aria-labelledby': 'goaround-title', hidden: true },
      h('div', { class: 'ga-head' }, h('h2', { id: 'goaround-title' }, 'Go-around'), this.state),
      h('div', { class: 'ga-body' }, this.info, this.actions),
      this.progress, this.outcome, this.msg);
    this.poll = setInterval(() => {
      if (this.rb) this.load();
    }, POLL_MS);
    this.clock = setInterval(() => this.tickAgo(), AGO_MS);
  }

  destroy() {
    this.destroyed = true;
    clearInterval(this.poll);
    clearInterval(this.clock);
    clearInterval(this.tick);
    clearTimeout(this.loadTimer);
    clearTimeout(this.expiryTimer);
  }

  // A new migration document. Its "rollback" summary says whether there is one and whether it is
  // armed: read the full document when that differs from what is shown.
  setDoc(doc) {
    this.doc = doc;
    const sum = doc.rollback;
    if (sum === null) {
      this.rb = null;
    } else if (sum === undefined || !this.rb || this.rb.armed !== sum.armed
      || (sum.pr && this.rb.pr && sum.pr.number !== this.rb.pr.number)) {
      this.load();
    }
    this.render();
  }

  // A live event: anything about the rollback or a go-around re-reads the rollback document.
  onEvent(action) {
    if (action.startsWith('rollback.') || action.startsWith('go_around.') || action === 'landing.reopen') {
      clearTimeout(this.loadTimer);
      this.loadTimer = setTimeout(() => this.load(), 60);
    }
  }

  // After a reconnection: read the rollback again if there is one (the document says if a new
  // one appeared).
  reload() {
    if (this.rb) this.load();
  }

  async load(refresh = false) {
    const n = ++this.request;
    try {
      const rb = await api.rollback(this.opts.mid, refresh);
      if (this.destroyed || n !== this.request) return;
      this.rb = rb;
    } catch (err) {
      if (this.destroyed || n !== this.request) return;
      if (err.status === 404) this.rb = null;
      else if (err.status !== 401 && refresh) this.message = { kind: 'error', text: `Could not check: ${err.message}` };
    }
    this.render();
  }

  // ---- rendering ---------------------------------------------------------------------------

  // The latest go-around worth showing: a request under way, the merge the flight went around
  // with; any other outcome only until the rollback is armed again (re-arming answers it).
  latest() {
    const rb = this.rb;
    const ga = rb && rb.go_around;
    if (!ga) return null;
    if (ga.state === 'merging' || ga.state === 'pending') return ga;
    if (ga.state === 'merged' && this.doc && this.doc.status === 'go_around') return ga;
    const armed = rb.armed_at ? new Date(rb.armed_at).getTime() : 0;
    const ended = ga.finished_at ? new Date(ga.finished_at).getTime() : Date.now();
    return ended >= armed ? ga : null;
  }

  // A pending request past its time is expired, whether or not the server has said so yet.
  expired(ga) {
    return ga.state === 'expired'
      || (ga.state === 'pending' && ga.expires_at && new Date(ga.expires_at).getTime() <= Date.now());
  }

  // Buttons are drawn anew on every change; keep the keyboard where it was (the same button, once
  // it is enabled again), unless the person has moved on to something else.
  rememberFocus() {
    const a = document.activeElement;
    if (a && this.el.contains(a) && a.dataset.focusKey) this.focusKey = a.dataset.focusKey;
  }

  restoreFocus() {
    if (!this.focusKey) return;
    const a = document.activeElement;
    if (a && a !== document.body && !this.el.contains(a) && !a.closest('dialog')) {
      this.focusKey = null;
      return;
    }
    if (a && a.closest && a.closest('dialog')) return;
    const el = this.el.querySelector(`[data-focus-key="${this.focusKey}"]`);
    if (el && !el.disabled && el !== a) el.focus({ preventScroll: true });
  }

  render() {
    this.rememberFocus();
    this.draw();
    this.restoreFocus();
  }

  draw() {
    const doc = this.doc;
    if (!doc || this.rb === undefined) {
      this.el.hidden = true;
      return;
    }
    const rb = this.rb;
    // A closed or aborted flight without a rollback PR has nothing to say here.
    this.el.hidden = !rb && readOnly(doc);
    if (this.el.hidden) return;
    const wentAround = doc.status === 'go_around';
    const used = rb && rb.used_by !== null && rb.used_by !== undefined;
    let kind;
    let word;
    if (wentAround) {
      kind = 'went-around';
      word = 'Went around';
    } else if (!rb) {
      kind = 'none';
      word = 'None';
    } else if (used) {
      kind = 'used';
      word = 'Used';
    } else if (rb.armed) {
      kind = 'armed';
      word = 'Armed';
    } else {
      kind = 'disarmed';
      word = 'Not armed';
    }
    this.el.className = `panel goaround ga-${kind}${this.busy ? ' ga-busy' : ''}`;
    this.el.dataset.state = kind;
    this.state.textContent = word;
    this.state.className = `badge ga-state ga-state-${kind}`;
    this.renderInfo(rb, kind);
    this.renderActions(rb, used, wentAround);
    this.renderProgress();
    this.renderOutcome(rb);
    this.msg.hidden = !this.message;
    this.msg.textContent = this.message ? this.message.text : '';
    this.msg.className = `ga-msg${this.message ? ` ga-msg-${this.message.kind}` : ''}`;
    this.msg.setAttribute('role', this.message && this.message.kind === 'error' ? 'alert' : 'status');
  }

  renderInfo(rb, kind) {
    if (!rb) {
      replace(this.info,
        h('p', { class: 'ga-summary' }, 'No rollback pull request is armed: this flight has no go-around.'),
        // (The way back may be the cutover switches instead; a plan without a rollback PR is
        // not an alarm, so this state is shown plainly rather than in red.)
        this.isLead && !readOnly(this.doc)
          ? h('p', { class: 'hint' }, 'Arm the pre-approved rollback PR so one action can undo the change.')
          : null);
      return;
    }
    const pr = rb.pr || {};
    const now = Date.now();
    // "(12 s ago)" is kept current between reads by the clock (see tickAgo).
    const checked = rb.checking
      ? 'checking now…'
      : rb.checked_at ? [hms(rb.checked_at), ' ', h('span', { class: 'ga-ago', dataset: { at: rb.checked_at } }, `(${ago(rb.checked_at, now)})`)] : 'not yet';
    const reasons = rb.reasons || [];
    let summary;
    if (kind === 'armed') summary = 'Armed: one action merges the approved rollback PR.';
    else if (kind === 'used') summary = `This rollback PR was merged by go-around ${rb.used_by}: arm a new one for another go-around.`;
    else if (kind === 'went-around') summary = 'The rollback PR was merged.';
    else summary = `Not armed: a go-around now would probably fail. ${reasons.length === 1 ? 'Reason' : 'Reasons'}:`;
    replace(this.info,
      h('p', { class: 'ga-summary' }, summary),
      kind === 'disarmed' && reasons.length
        ? h('ul', { class: 'ga-reasons', 'aria-label': 'Why the go-around is not armed' },
          reasons.map((r) => h('li', { dataset: { code: r.code } }, r.text)))
        : null,
      h('p', { class: 'ga-pr' },
        h('a', { href: pr.url, target: '_blank', rel: 'noopener noreferrer', class: 'ga-pr-link' }, `${pr.repo}#${pr.number}`),
        pr.title ? h('span', { class: 'ga-pr-title' }, ` ${pr.title}`) : null),
      h('dl', { class: 'facts ga-facts' },
        h('div', null, h('dt', null, 'Approved'), h('dd', null, h('code', { class: 'ga-approved', title: pr.approved_sha }, shortSha(pr.approved_sha)))),
        pr.head_sha && pr.head_sha !== pr.approved_sha
          ? h('div', { class: 'ga-moved' }, h('dt', null, 'Head now'), h('dd', null, h('code', { title: pr.head_sha }, shortSha(pr.head_sha))))
          : null,
        h('div', null, h('dt', null, 'Merge'), h('dd', null, pr.merge_method || 'merge')),
        h('div', null, h('dt', null, 'Last checked'), h('dd', { class: 'ga-checked' }, checked)),
        rb.requires_second_lead ? h('div', null, h('dt', null, 'Needs'), h('dd', null, 'a second lead')) : null,
        rb.armed_by ? h('div', null, h('dt', null, 'Armed by'), h('dd', null, `${who(rb.armed_by)} at ${hms(rb.armed_at)}`)) : null));
  }

  renderActions(rb, used, wentAround) {
    const doc = this.doc;
    const ga = this.latest();
    const underWay = ga && (ga.state === 'merging' || (ga.state === 'pending' && !this.expired(ga)));
    const buttons = [];
    if (this.isLead && rb && !used && flying(doc) && !underWay) {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn btn-goaround',
        disabled: Boolean(this.busy),
        'aria-label': `Go around: merge the rollback PR ${rb.pr.repo}#${rb.pr.number}`,
        dataset: { focusKey: 'goaround' },
        onclick: () => this.goAround(),
      }, 'GO-AROUND…'));
    }
    if (rb && !used && !wentAround && !readOnly(doc)) {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn btn-small',
        disabled: Boolean(this.busy) || rb.checking,
        dataset: { focusKey: 'check' },
        onclick: () => this.checkNow(),
      }, 'Check now'));
    }
    if (this.isLead && !readOnly(doc) && !wentAround && !underWay) {
      buttons.push(h('button', {
        type: 'button',
        class: 'btn btn-small',
        disabled: Boolean(this.busy),
        dataset: { focusKey: 'arm' },
        onclick: () => this.arm(),
      }, rb ? 'Re-arm…' : 'Arm rollback PR…'));
    }
    if (!this.isLead && rb && !used && flying(doc)) {
      buttons.push(h('p', { class: 'hint ga-lead-only' }, 'Only a lead can order a go-around.'));
    }
    replace(this.actions, buttons);
    this.actions.hidden = buttons.length === 0;
  }

  renderProgress() {
    const b = this.busy;
    this.progress.hidden = !b;
    if (!b) {
      this.progress.replaceChildren();
      return;
    }
    const secs = Math.floor((Date.now() - b.since) / 1000);
    replace(this.progress,
      h('progress', { class: 'ga-bar', 'aria-label': b.text }),
      h('span', { class: 'ga-progress-text' }, `${b.text}${secs >= 1 ? ` (${secs} s)` : ''}`));
  }

  renderOutcome(rb) {
    const doc = this.doc;
    const ga = this.latest();
    if (!ga) {
      this.outcome.hidden = true;
      this.outcome.replaceChildren();
      return;
    }
    const pr = `${(ga.pr && ga.pr.repo) || ''}#${(ga.pr && ga.pr.number) || ''}`;
    const ordered = `${who(ga.requested_by)} ordered it at ${hms(ga.requested_at)}${ga.confirmed_by ? `, ${who(ga.confirmed_by)} confirmed` : ''}`;
    const reason = ga.reason ? h('p', { class: 'ga-reason' }, `Reason: ${ga.reason}`) : null;
    let cls;
    let body;
    if (ga.state === 'merged') {
      cls = 'ga-out-merged';
      const reopened = doc.status !== 'go_around';
      body = [
        h('p', { class: 'ga-headline' }, `Went around: ${pr} was merged as commit `,
          h('code', { class: 'ga-merge-sha', title: ga.merge_sha }, shortSha(ga.merge_sha)),
          ` at ${hms(ga.finished_at)}.`),
        h('p', null, reopened
          ? 'Landing has been re-opened since for another attempt.'
          : 'The migration went around: landing is stopped. A lead re-opens landing for another attempt, or aborts.'),
        h('p', { class: 'hint' }, ordered), reason,
      ];
      if (this.isLead && !reopened) {
        body.push(h('div', { class: 'ga-after' },
          h('button', { type: 'button', class: 'btn btn-primary', disabled: Boolean(this.busy), dataset: { focusKey: 'reopen' }, onclick: () => this.reopen() }, 'Re-open landing…'),
          h('button', { type: 'button', class: 'btn btn-danger', disabled: Boolean(this.busy), dataset: { focusKey: 'abort' }, onclick: () => this.opts.onAbort() }, 'Abort migration…')));
      }
    } else if (ga.state === 'merging' && this.busy) {
      // This person's own go-around: the progress line above already says it.
      this.outcome.hidden = true;
      return;
    } else if (ga.state === 'merging') {
      cls = 'ga-out-merging';
      body = [h('p', { class: 'ga-headline' }, `Go-around under way: GitHub is merging ${pr}…`), h('p', { class: 'hint' }, ordered), reason];
    } else if (this.expired(ga)) {
      cls = 'ga-out-failed';
      body = [h('p', { class: 'ga-headline' }, `The go-around ${who(ga.requested_by)} ordered at ${hms(ga.requested_at)} expired: no second lead confirmed in time. Nothing was merged.`), reason];
    } else if (ga.state === 'pending') {
      cls = 'ga-out-pending';
      const mine = ga.requested_by && ga.requested_by.sub === this.opts.me.sub;
      body = [
        h('p', { class: 'ga-headline' }, `${who(ga.requested_by)} ordered a go-around at ${hms(ga.requested_at)}: a second lead must confirm by ${hms(ga.expires_at)}.`),
        reason,
        mine ? h('p', { class: 'hint' }, 'Waiting for another lead to confirm; you cannot confirm your own request.') : null,
      ];
      if (this.isLead && !mine) {
        body.push(h('div', { class: 'ga-after' },
          h('button', {
            type: 'button',
            class: 'btn btn-goaround',
            disabled: Boolean(this.busy),
            'aria-label': `Confirm the go-around ordered by ${who(ga.requested_by)}`,
            dataset: { focusKey: 'confirm' },
            onclick: () => this.confirm(ga),
          }, 'Confirm go-around…')));
      }
      this.scheduleExpiry(ga);
    } else {
      cls = 'ga-out-failed';
      const head = this.heads.get(ga.id) || (rb && rb.pr && rb.pr.head_sha !== ga.approved_sha ? rb.pr.head_sha : null);
      body = [
        h('p', { class: 'ga-headline' }, `The go-around at ${hms(ga.requested_at)} failed: ${outcomeWords(ga.outcome, {
          approved: ga.approved_sha, head, repo: ga.pr && ga.pr.repo, number: ga.pr && ga.pr.number, detail: ga.detail,
        })}.`),
        ga.detail ? h('p', { class: 'hint ga-detail' }, `Details: ${ga.detail}`) : null,
        h('p', { class: 'hint' }, ordered), reason,
      ];
    }
    this.outcome.hidden = false;
    this.outcome.className = `ga-outcome ${cls}`;
    replace(this.outcome, body);
  }

  // Keep "(N s ago)" of the last check honest without redrawing the panel (focus stays put).
  tickAgo() {
    const el = this.info.querySelector('.ga-ago');
    if (el) el.textContent = `(${ago(el.dataset.at, Date.now())})`;
  }

  scheduleExpiry(ga) {
    clearTimeout(this.expiryTimer);
    const left = new Date(ga.expires_at).getTime() - Date.now();
    if (left > 0 && left < 24 * 3600 * 1000) this.expiryTimer = setTimeout(() => this.render(), left + 200);
  }

  setBusy(kind, text) {
    clearInterval(this.tick);
    this.busy = kind ? { kind, text, since: Date.now() } : null;
    if (kind) this.tick = setInterval(() => this.renderProgress(), 1000);
    this.render();
  }

  // ---- actions -------------------------------------------------------------------------------

  async checkNow() {
    this.focusKey = 'check';
    this.message = null;
    this.setBusy('check', 'Asking GitHub about the rollback PR…');
    await this.load(true);
    this.setBusy(null);
  }

  async arm() {
    this.focusKey = 'arm';
    const rb = this.rb;
    let planned = null;
    if (!rb) {
      // The plan may name the rollback PR already: offer it.
      try {
        const plan = await api.plan(this.opts.mid);
        planned = plan && plan.rollback;
      } catch {
        planned = null;
      }
    }
    const cur = rb ? { repo: rb.pr.repo, pr: rb.pr.number, merge_method: rb.pr.merge_method, requires_second_lead: rb.requires_second_lead }
      : planned || {};
    const moved = rb && rb.pr.head_sha && rb.pr.head_sha !== rb.pr.approved_sha;
    const ans = await formDialog({
      title: rb ? 'Re-arm the rollback PR' : 'Arm the rollback PR',
      body: [
        h('p', null, 'flightdeck reads the pull request from GitHub now and records its current head commit as the approved one. A go-around merges exactly that commit, never a later change.'),
        moved ? h('p', { class: 'warn' }, `The PR changed since it was approved (approved ${shortSha(rb.pr.approved_sha)}, now ${shortSha(rb.pr.head_sha)}). Re-arm only after reviewing the change.`) : null,
        rb ? h('p', { class: 'hint' }, 'Re-arming is recorded in the flight recorder.') : null,
      ],
      confirmLabel: rb ? 'Re-arm' : 'Arm',
      fields: [
        { name: 'repo', label: 'Repository (owner/name)', kind: 'text', required: true, value: cur.repo || '' },
        { name: 'pr', label: 'Pull request number', kind: 'number', required: true, value: cur.pr || '' },
        {
          name: 'merge_method', label: 'Merge method', kind: 'select', value: cur.merge_method || 'merge',
          options: MERGE_METHODS.map((m) => ({ value: m, label: m })),
        },
        {
          name: 'requires_second_lead', label: 'A second lead must confirm the go-around', kind: 'checkbox',
          value: Boolean(cur.requires_second_lead),
          hint: 'Two people agree before the merge; the second has two minutes to confirm.',
        },
      ],
    });
    if (!ans.ok) {
      this.restoreFocus();
      return;
    }
    const body = {
      repo: ans.values.repo,
      pr: ans.values.pr,
      merge_method: ans.values.merge_method,
      requires_second_lead: ans.values.requires_second_lead,
    };
    this.message = null;
    this.setBusy('arm', `Reading ${body.repo}#${body.pr} from GitHub…`);
    try {
      this.rb = await api.armRollback(this.opts.mid, body);
      this.message = {
        kind: 'ok',
        text: `${rb ? 'Re-armed' : 'Armed'} ${body.repo}#${body.pr} at ${shortSha(this.rb.pr && this.rb.pr.approved_sha)}.`,
      };
    } catch (err) {
      if (err.status !== 401) this.message = { kind: 'error', text: `Not armed: ${err.message}` };
    }
    this.setBusy(null);
  }

  async goAround() {
    this.focusKey = 'goaround';
    const rb = this.rb;
    const mid = this.opts.mid;
    const pr = `${rb.pr.repo}#${rb.pr.number}`;
    const reasons = rb.reasons || [];
    const ans = await confirmDialog({
      title: 'Go around?',
      className: 'dialog-goaround',
      body: [
        h('p', null, `flightdeck merges the rollback PR ${pr} at the approved commit `, h('code', null, shortSha(rb.pr.approved_sha)),
          ` (${rb.pr.merge_method || 'merge'}). The migration then goes around: landing stops until a lead re-opens it or aborts.`),
        rb.requires_second_lead ? h('p', null, 'This rollback needs a second lead: the merge happens when another lead confirms, within two minutes.') : null,
        !rb.armed ? h('div', { class: 'warn' }, h('p', null, 'The go-around is NOT armed; GitHub will probably refuse:'),
          h('ul', null, reasons.map((r) => h('li', null, r.text)))) : null,
      ],
      confirmLabel: 'GO-AROUND',
      danger: true,
      reason: { label: 'Reason', required: true },
      typeToConfirm: mid,
    });
    if (!ans.ok) {
      this.restoreFocus();
      return;
    }
    this.message = null;
    this.setBusy('merge', rb.requires_second_lead
      ? 'Ordering the go-around…'
      : `Going around: GitHub is merging ${pr} at ${shortSha(rb.pr.approved_sha)}…`);
    await this.send(() => api.goAround(mid, ans.reason, uuid()));
  }

  async confirm(ga) {
    this.focusKey = 'confirm';
    const pr = `${ga.pr.repo}#${ga.pr.number}`;
    const ans = await confirmDialog({
      title: 'Confirm the go-around?',
      body: [
        h('p', null, `${who(ga.requested_by)} ordered a go-around${ga.reason ? `: “${ga.reason}”` : ''}.`),
        h('p', null, `Confirming merges ${pr} at `, h('code', null, shortSha(ga.approved_sha)), ' now, and landing stops.'),
      ],
      confirmLabel: 'Confirm go-around',
      danger: true,
    });
    if (!ans.ok) {
      this.restoreFocus();
      return;
    }
    this.message = null;
    this.setBusy('confirm', `Going around: GitHub is merging ${pr} at ${shortSha(ga.approved_sha)}…`);
    await this.send(() => api.confirmGoAround(this.opts.mid, ga.id, uuid()));
  }

  // Order or confirm; the answer comes when GitHub has answered (seconds).
  async send(fn) {
    try {
      const ga = await fn();
      // The outcome box shows the answer (pending or merged) from here on.
      if (ga && this.rb) this.rb = { ...this.rb, go_around: ga, used_by: ga.state === 'merged' ? ga.id : this.rb.used_by };
    } catch (err) {
      if (err.status === 401) {
        this.setBusy(null);
        return;
      }
      const b = err.body || {};
      const ga = b.go_around;
      if (ga && b.head_sha) this.heads.set(ga.id, b.head_sha);
      if (ga && this.rb && b.outcome !== 'in_progress' && ga.state !== 'pending') {
        // The failure is now the latest go-around: the outcome box says it, for everyone.
        this.rb = { ...this.rb, go_around: ga };
      } else if (ga && ga.state === 'pending') {
        // Someone else's order already waits for a second lead: that box has the Confirm button.
        if (this.rb) this.rb = { ...this.rb, go_around: ga };
        this.message = { kind: 'error', text: `Not ordered: ${who(ga.requested_by)} already ordered a go-around that waits for a second lead.` };
      } else if (b.outcome) {
        this.message = {
          kind: 'error',
          text: `Refused: ${outcomeWords(b.outcome, { repo: this.rb && this.rb.pr.repo, by: ga && who(ga.requested_by), detail: b.detail })}.`,
        };
      } else {
        this.message = { kind: 'error', text: `Refused: ${err.message}` };
      }
    }
    this.setBusy(null);
    this.load();
    // The migration's status may have changed (went around): the cockpit reads it again.
    if (this.opts.onChanged) this.opts.onChanged();
  }

  async reopen() {
    this.focusKey = 'reopen';
    const ans = await confirmDialog({
      title: 'Re-open landing?',
      body: [
        h('p', null, 'The stage that was active before the go-around becomes active again, for another attempt.'),
        h('p', null, 'The rollback PR was merged: arm a new one before relying on a go-around again.'),
      ],
      confirmLabel: 'Re-open landing',
    });
    if (!ans.ok) {
      this.restoreFocus();
      return;
    }
    this.message = null;
    this.setBusy('reopen', 'Re-opening landing…');
    try {
      const doc = await api.reopenLanding(this.opts.mid, uuid());
      if (doc && doc.stages) this.opts.onDoc(doc);
    } catch (err) {
      if (err.status !== 401) this.message = { kind: 'error', text: `Not re-opened: ${err.message}` };
    }
    this.setBusy(null);
  }
}
