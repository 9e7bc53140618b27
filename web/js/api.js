// api.js - talking to the flightdeck API from the browser.
//
// The session is an HttpOnly cookie set by POST /api/session, so the page never holds a token.
// Cookie-authenticated requests that change state must carry X-Requested-With: flightdeck (the
// server's CSRF defence: a cross-site form cannot set it). Every POST carries an Idempotency-Key
// chosen once per user action, so retrying after a network blip can never act twice.

import { sleep, uuid } from './dom.js';

// An answer that was not 2xx: status 0 means the server could not be reached.
// body is the problem document ({type, title, status, detail, field?, current?, blocking?}).
export class ApiError extends Error {
  constructor(status, body) {
    const b = body && typeof body === 'object' ? body : {};
    super(b.detail || b.title || (status ? `HTTP ${status}` : 'Could not reach the server'));
    this.status = status;
    this.body = b;
  }
}

let onUnauthorized = null;

// Called when any request (other than the ones that expect it) answers 401.
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

// How long to wait before each retry of a request that did not reach the server or met a
// server that is restarting (502/503/504). The Idempotency-Key stays the same across retries.
const RETRY_DELAYS = [300, 1000, 2500];

// request('POST', '/api/...', {note: 'x'}) -> parsed JSON (null for 204); throws ApiError.
// opts.key: the Idempotency-Key (one per user action; default: a new one);
// opts.quiet401: do not call the unauthorized handler (for /api/me and sign-in);
// opts.noRetry: answer a 502/503/504 at once (a go-around's 503 is an outcome to show, not a
// server restarting); a request that never reached the server is still retried.
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Requested-With'] = 'flightdeck';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST') headers['Idempotency-Key'] = opts.key || uuid();
  const init = {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  };
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      if (attempt < RETRY_DELAYS.length) {
        await sleep(RETRY_DELAYS[attempt]);
        continue;
      }
      throw new ApiError(0, { title: 'Offline', detail: 'Could not reach the server.' });
    }
    if ((res.status === 502 || res.status === 503 || res.status === 504) && attempt < RETRY_DELAYS.length
      && !opts.noRetry) {
      await sleep(RETRY_DELAYS[attempt]);
      continue;
    }
    const data = await readBody(res);
    if (res.ok) return data;
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, data);
  }
}

async function readBody(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  if (type.includes('json')) {
    try {
      return await res.json();
    } catch {
      return null;
    }
  }
  const text = await res.text().catch(() => '');
  return res.ok ? text : { title: `HTTP ${res.status}`, detail: text.slice(0, 300) };
}

export const api = {
  me: () => request('GET', '/api/me', undefined, { quiet401: true }),
  signIn: (token) => request('POST', '/api/session', { token }, { quiet401: true }),
  signOut: () => request('DELETE', '/api/session', undefined, { quiet401: true }),
  devUsers: () => request('GET', '/api/dev/users', undefined, { quiet401: true }),

  migrations: (cursor) =>
    request('GET', `/api/migrations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
  migration: (mid) => request('GET', `/api/migrations/${encodeURIComponent(mid)}`),
  audit: (mid, after) =>
    request('GET', `/api/migrations/${encodeURIComponent(mid)}/audit?format=json&after=${after || 0}`),
  presence: (mid) => request('GET', `/api/migrations/${encodeURIComponent(mid)}/presence`),

  // action: tick | untick | skip | fail | confirm; body: {note} or {reason} or {}.
  stepAction: (mid, sid, action, body, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/steps/${encodeURIComponent(sid)}/${action}`, body, { key }),
  // start and complete take an optional override_reason: a lead passing an unsatisfied gate.
  start: (mid, key, overrideReason) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/start`,
      overrideReason ? { override_reason: overrideReason } : undefined, { key }),
  abort: (mid, reason, key) => request('POST', `/api/migrations/${encodeURIComponent(mid)}/abort`, { reason }, { key }),
  completeStage: (mid, stage, key, overrideReason) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/stages/${encodeURIComponent(stage)}/complete`,
      overrideReason ? { override_reason: overrideReason } : undefined, { key }),

  // Gates: go/no-go sign-offs per stage; briefings, their acknowledgements and feedback.
  // body: {team, decision: 'go'|'no_go', comment?, override_reason?}
  signoff: (mid, stage, body, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/stages/${encodeURIComponent(stage)}/signoffs`, body, { key }),
  briefings: (mid) => request('GET', `/api/migrations/${encodeURIComponent(mid)}/briefings`),
  // body: {title, at, notes?, teams}
  createBriefing: (mid, body, key) => request('POST', `/api/migrations/${encodeURIComponent(mid)}/briefings`, body, { key }),
  ack: (mid, bid, body, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/briefings/${encodeURIComponent(bid)}/acks`, body, { key }),
  feedback: (mid, bid, text, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/briefings/${encodeURIComponent(bid)}/feedback`, { text }, { key }),
  resolveFeedback: (mid, bid, fid, resolution, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/briefings/${encodeURIComponent(bid)}/feedback/${encodeURIComponent(fid)}/resolve`,
      { resolution }, { key }),

  // The go-around: the rollback PR (404 when none is armed), arming it, ordering and confirming
  // a go-around (the answer waits for GitHub's merge: seconds), re-opening landing after one.
  rollback: (mid, refresh) =>
    request('GET', `/api/migrations/${encodeURIComponent(mid)}/rollback${refresh ? '?refresh=1' : ''}`),
  // body: {repo, pr, merge_method?, requires_second_lead?}
  armRollback: (mid, body) => request('PUT', `/api/migrations/${encodeURIComponent(mid)}/rollback`, body),
  plan: (mid) => request('GET', `/api/migrations/${encodeURIComponent(mid)}/plan`),
  goAround: (mid, reason, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/go-around`, { reason }, { key, noRetry: true }),
  confirmGoAround: (mid, id, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/go-around/confirm`, { id }, { key, noRetry: true }),
  reopenLanding: (mid, key) => request('POST', `/api/migrations/${encodeURIComponent(mid)}/landing/reopen`, undefined, { key }),

  // Cutover switches: every switch with its history and the rules; the one-action way back.
  switches: (mid) => request('GET', `/api/migrations/${encodeURIComponent(mid)}/switches`),
  // body: {to?, reason?}
  revertSwitch: (mid, name, body, key) =>
    request('POST', `/api/migrations/${encodeURIComponent(mid)}/switches/${encodeURIComponent(name)}/revert`, body, { key }),
};

// All migrations, following next_cursor (a cutover team has a handful; stop at a sane bound).
export async function allMigrations() {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const res = await api.migrations(cursor);
    items.push(...((res && res.items) || []));
    cursor = res && res.next_cursor;
    if (!cursor) break;
  }
  return items;
}
