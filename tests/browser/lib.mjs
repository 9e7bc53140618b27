// lib.mjs - what every browser test needs: the real flightdeck server on a loopback port with a
// fresh database, tokens minted by `flightdeck token`, a few API calls to set the scene, and
// Debian's chromium driven by playwright-core (no browser download, ever).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const ARTIFACTS = path.join(here, 'artifacts');
export const BIN = process.env.FLIGHTDECK_BIN || path.join(REPO, 'build', 'flightdeck');
const SECRET = 'browser-tests-secret-' + 'x'.repeat(32);
const ENV = { ...process.env, FLIGHTDECK_JWT_SECRET: SECRET };

// Generous bound for "it shows up on the other screen" (not a timing assertion).
export const LIVE_WAIT = 5000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A fresh temporary directory for one test's database; removed by cleanup().
export function tempDir() {
  return mkdtempSync(path.join(os.tmpdir(), 'fd-browser-'));
}

// Start `flightdeck serve` and wait for "flightdeck: listening on http://HOST:PORT".
// opts: {dir (database directory), port (0 = any), env (extra environment, e.g. a short
// FLIGHTDECK_OVERDUE_CHECK_MS)}. Returns {url, port, proc, log()}.
export async function startServer({ dir, port = 0, env = {} }) {
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', path.join(dir, 'fd.db'),
    '--web', path.join(REPO, 'web'), '--demo', path.join(REPO, 'examples')];
  const proc = spawn(BIN, args, { env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 15 s\nstdout: ${out}\nstderr: ${err}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /flightdeck: listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? sig}) before listening\nstdout: ${out}\nstderr: ${err}`));
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  proc.stdout.on('data', () => {}); // keep draining
  return { url, port: Number(new URL(url).port), proc, log: () => `stdout: ${out}\nstderr: ${err}` };
}

// SIGTERM and wait for a clean exit (the server must exit 0 within a few seconds).
export function stopServer(server, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    const { proc } = server;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      resolve({ code: proc.exitCode, signal: proc.signalCode });
      return;
    }
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig });
    });
    proc.kill(signal);
  });
}

// Mint a token with the same secret the server uses.
export function token({ sub, name, role, teams = [], ttl = '1h' }) {
  const args = ['token', '--sub', sub, '--name', name, '--role', role, '--ttl', ttl];
  if (teams.length) args.push('--teams', teams.join(','));
  const out = execFileSync(BIN, args, { env: ENV, encoding: 'utf8' });
  const m = /[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(out);
  if (!m) throw new Error(`flightdeck token printed no JWT: ${out}`);
  return m[0];
}

// One API call as a bot would make it. Returns {status, body}.
export async function call(base, tok, method, p, body) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${tok}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST') headers['Idempotency-Key'] = randomUUID();
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: res.status, body: parsed };
}

// Call and insist on a 2xx (setting the scene must not fail silently).
export async function must(base, tok, method, p, body) {
  const r = await call(base, tok, method, p, body);
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

export const TEAM = 'browser-crew';

// The people of a test. Engineers belong to the team that owns the test migration.
export function crew() {
  return {
    admin: token({ sub: 'ada', name: 'Ada Admin', role: 'admin', teams: [TEAM] }),
    lead: token({ sub: 'lee', name: 'Lee Lead', role: 'lead', teams: [TEAM] }),
    alice: token({ sub: 'alice', name: 'Alice', role: 'engineer', teams: [TEAM] }),
    bob: token({ sub: 'bob', name: 'Bob', role: 'engineer', teams: [TEAM] }),
    vic: token({ sub: 'vic', name: 'Vic Viewer', role: 'viewer', teams: [TEAM] }),
  };
}

// A migration of our own, started (unless start: false), with `n` take-off steps (titles "Step 1".. unless given)
// and a last, critical one.
// Returns the migration document (stages with steps).
export async function flight(base, people, { id = 'browser-flight', titles, n = 5, start = true } = {}) {
  const teams = await call(base, people.admin, 'GET', `/api/teams/${TEAM}`);
  if (teams.status === 404) {
    await must(base, people.admin, 'POST', '/api/teams', { slug: TEAM, name: 'Browser crew', channel: '#browser-crew' });
  }
  const names = titles || Array.from({ length: n }, (_, i) => `Step ${i + 1}`);
  const steps = names.map((title, i) => ({
    title,
    details: `What to do for ${title}.`,
    owner_team: TEAM,
    expected_minutes: 5,
    ...(i === 1 ? { command: 'kubectl -n data get pods', link: 'https://example.com/runbook' } : {}),
  }));
  // One critical step last, so the screenshots show how it stands out (tests tick the others).
  steps.push({ title: 'Flip the producers to the new cluster', owner_team: TEAM, critical: true,
    command: 'kubectl -n data set env deploy/producer KAFKA=msk-v2', expected_minutes: 2 });
  await must(base, people.lead, 'POST', '/api/migrations', {
    id,
    title: `Browser test flight ${id}`,
    description: 'A migration created by the browser tests.',
    owner_team: TEAM,
    window: { start: '2026-03-10T19:00:00.000Z', end: '2026-03-10T23:00:00.000Z' },
    dashboards: [
      { title: 'Six-pack', url: 'https://grafana.example.com/d/six', kind: 'overview' },
      { title: 'Everything', url: 'https://grafana.example.com/d/all', kind: 'full' },
    ],
    stages: [
      { key: 'takeoff', title: 'Take-off', steps },
      { key: 'inflight', title: 'In-flight', steps: [{ title: 'Watch the six-pack' }] },
      { key: 'landing', title: 'Landing', steps: [] },
      { key: 'shutdown', title: 'Shutdown', steps: [] },
    ],
  });
  if (!start) return must(base, people.lead, 'GET', `/api/migrations/${id}`);
  return must(base, people.lead, 'POST', `/api/migrations/${id}/start`);
}

export function takeoffSteps(doc) {
  return doc.stages.find((s) => s.key === 'takeoff').steps.slice().sort((a, b) => a.position - b.position);
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A browser context + page with its console errors collected (shown when a test fails).
export async function person(browser, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, ...opts });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  return { ctx, page };
}

// Sign in through the UI's paste-token form, then open `hash` (e.g. '#/m/x').
export async function signIn(page, base, tok, hash = '#/') {
  await page.goto(`${base}/${hash}`);
  await page.locator('#token').fill(tok);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

// The step card of the step titled `title`.
export function stepCard(page, title) {
  return page.locator('li.step').filter({ has: page.locator('.step-title', { hasText: title }) });
}

// Wait until the connection status in the top bar reads `word` (Live, Reconnecting…, Offline).
export async function waitConn(page, re, timeout = LIVE_WAIT) {
  await page.waitForFunction((src) => {
    const el = document.getElementById('conn');
    return el && !el.hidden && new RegExp(src).test(el.textContent);
  }, re.source, { timeout });
}

export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

export function cleanup(dir) {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// Register a cleanup for test `t`. Cleanups run last-registered-first when the test ends, so
// browsers close before the server they talk to stops (as a person would leave).
export function defer(t, fn) {
  if (!t.fdCleanups) {
    const fns = [];
    t.fdCleanups = fns;
    t.after(async () => {
      let first = null;
      for (const f of fns.reverse()) {
        try {
          await f();
        } catch (e) {
          first = first || e;
        }
      }
      if (first) throw first;
    });
  }
  t.fdCleanups.push(fn);
}
