// live.js - one server-sent event stream with an honest connection status.
//
// A stale screen during a cutover is dangerous, so the status is always one of:
//   connecting   - first connection under way
//   live         - the stream is open: what you see is current
//   reconnecting - the stream dropped; retrying (the screen may be stale)
//   offline      - the browser says it is offline, or the server has been unreachable a while
// The browser's EventSource resumes with Last-Event-ID by itself. When it gives up (the server
// answered something other than a stream, e.g. while restarting) we open a new one ourselves with
// ?after=<last seq seen>, so no event is missed either way. Events are de-duplicated by seq.

import { api } from './api.js';

// EventSource only delivers event types someone listens for, so name every action we know.
const ACTIONS = [
  'step.tick', 'step.untick', 'step.skip', 'step.fail', 'step.add', 'step.update', 'step.delete',
  'step.confirm', 'migration.create', 'migration.update', 'migration.start', 'migration.abort',
  'migration.landed', 'migration.closed', 'stage.complete', 'team.create', 'team.update',
  // gates and the flight clock
  'stage.update', 'signoff.create', 'signoff.override', 'gate.override', 'briefing.create',
  'briefing.ack', 'feedback.create', 'feedback.resolve', 'step.overdue', 'stage.overdue',
  // the go-around
  'rollback.arm', 'rollback.armed', 'rollback.disarmed', 'go_around.requested', 'go_around.started',
  'go_around.merged', 'go_around.failed', 'go_around.expired', 'landing.reopen',
  // cutover switches
  'switch.move', 'switch.revert', 'switch.applied', 'switch.failed',
  'overdue', 'armed', 'disarmed', 'go_around', 'signoff', 'briefing', 'message',
];

// After this long without a connection the status says "offline" rather than "reconnecting".
const OFFLINE_AFTER_MS = 15000;

export class LiveStream {
  // url: '/api/migrations/x/events' or '/api/events'.
  // handlers: onEvent(action, event, seq), onPresence(doc), onOpen(isReconnect),
  //           onResync() -> Promise, onStatus(status), onUnauthorized()
  constructor(url, handlers) {
    this.url = url;
    this.h = handlers;
    this.es = null;
    this.lastSeq = 0;
    this.everOpened = false;
    this.failures = 0;
    this.downSince = null;
    this.timer = null;
    this.stopped = true;
    this.status = '';
    this.onOffline = () => {
      this.closeStream();
      this.setStatus('offline');
    };
    this.onOnline = () => {
      if (!this.stopped) this.open();
    };
    this.onMessage = (e) => this.message(e);
  }

  // Begin streaming events with seq > after (0: only new events).
  start(after) {
    this.lastSeq = after || 0;
    this.stopped = false;
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
    if (navigator.onLine === false) this.setStatus('offline');
    else this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    this.closeStream();
  }

  closeStream() {
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  open() {
    clearTimeout(this.timer);
    this.closeStream();
    if (this.stopped) return;
    const sep = this.url.includes('?') ? '&' : '?';
    const es = new EventSource(this.lastSeq > 0 ? `${this.url}${sep}after=${this.lastSeq}` : this.url);
    this.es = es;
    this.setStatus(this.everOpened ? 'reconnecting' : 'connecting');
    es.onopen = () => {
      if (es !== this.es) return;
      const again = this.everOpened;
      this.everOpened = true;
      this.failures = 0;
      this.downSince = null;
      this.setStatus('live');
      if (this.h.onOpen) this.h.onOpen(again);
    };
    es.onerror = () => {
      if (es !== this.es) return;
      if (this.downSince === null) this.downSince = Date.now();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up on this stream (an error status); we retry ourselves.
        this.es = null;
        es.close();
        this.scheduleReopen();
      }
      this.setStatus(this.downStatus());
    };
    for (const action of ACTIONS) es.addEventListener(action, this.onMessage);
    es.addEventListener('presence', (e) => {
      if (es !== this.es) return;
      const doc = parse(e.data);
      if (doc && this.h.onPresence) this.h.onPresence(doc);
    });
    es.addEventListener('resync', () => {
      if (es !== this.es) return;
      // We fell behind: reload what is on screen, then resume after the last event we hold.
      this.closeStream();
      this.setStatus('reconnecting');
      Promise.resolve(this.h.onResync ? this.h.onResync() : null)
        .catch(() => {})
        .then(() => this.open());
    });
  }

  message(e) {
    if (e.target !== this.es) return;
    const event = parse(e.data);
    if (!event) return;
    const seq = Number(event.seq !== undefined ? event.seq : e.lastEventId);
    if (Number.isFinite(seq) && seq > 0) {
      if (seq <= this.lastSeq) return; // already seen (a replay overlapping what we hold)
      this.lastSeq = seq;
    }
    if (this.h.onEvent) this.h.onEvent(e.type, event, seq);
  }

  downStatus() {
    if (navigator.onLine === false) return 'offline';
    if (this.downSince !== null && Date.now() - this.downSince > OFFLINE_AFTER_MS) return 'offline';
    return 'reconnecting';
  }

  scheduleReopen() {
    if (this.stopped) return;
    const delay = Math.min(1000 * 2 ** this.failures, 10000);
    this.failures++;
    // A stream refused because the session ended is not worth retrying: ask who we are.
    api.me().catch((err) => {
      if (err.status === 401 && this.h.onUnauthorized) {
        this.stop();
        this.h.onUnauthorized();
      }
    });
    this.timer = setTimeout(() => {
      this.setStatus(this.downStatus());
      this.open();
    }, delay);
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    if (this.h.onStatus) this.h.onStatus(status);
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
