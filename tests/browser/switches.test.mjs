// The cutover matrix in the cockpit: every switch of a dual-read/dual-write migration with its
// positions in a row and the current one highlighted; a switch step ticked in one browser moves
// the switch on another, live; a move a plan rule forbids is refused in words that name the rule;
// the one-action revert (one back, or to an earlier position) by an engineer; the flag call's
// applied / applying / failed state, against a flag system on loopback.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  defer, LIVE_WAIT, TEAM, artifact, cleanup, launch, must, person, signIn, startServer, stepCard,
  stopServer, tempDir, token, waitConn,
} from './lib.mjs';

let browser;
let server;
let dir;
let base;
let P;

before(async () => {
  browser = await launch();
  dir = tempDir();
  server = await startServer({ dir });
  base = server.url;
  P = {
    admin: token({ sub: 'ada', name: 'Ada Admin', role: 'admin', teams: [TEAM] }),
    lead: token({ sub: 'lee', name: 'Lee Lead', role: 'lead', teams: [TEAM] }),
    alice: token({ sub: 'alice', name: 'Alice', role: 'engineer', teams: [TEAM] }),
    bob: token({ sub: 'bob', name: 'Bob', role: 'engineer', teams: [TEAM] }),
    vic: token({ sub: 'vic', name: 'Vic Viewer', role: 'viewer', teams: [TEAM] }),
  };
  await must(base, P.admin, 'POST', '/api/teams', { slug: TEAM, name: 'Browser crew', channel: '#browser-crew' });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  cleanup(dir);
});

const READS = ['mysql', '10% dynamodb', '50% dynamodb', 'dynamodb'];
const WRITES = ['mysql', 'dual (mysql primary)', 'dual (dynamodb primary)', 'dynamodb'];

// The second seed's cutover in small: two switches, a rule ordering them, switch steps.
async function cutover(id, { readsAction } = {}) {
  await must(base, P.lead, 'POST', '/api/migrations', {
    id,
    title: `Cutover ${id}`,
    owner_team: TEAM,
    switches: [
      { name: 'reads', title: 'Where the designs service reads', positions: READS, ...(readsAction ? { action: readsAction } : {}) },
      { name: 'writes', title: 'Where the designs service writes', positions: WRITES },
    ],
    rules: [{ switch: 'writes', beyond: 'mysql', requires: [{ switch: 'reads', at_least: '50% dynamodb' }] }],
    stages: [
      {
        key: 'cutover',
        title: 'Cutover',
        steps: [
          { title: 'Move reads to 10% DynamoDB', owner_team: TEAM, switch: { name: 'reads', position: '10% dynamodb' } },
          { title: 'Start dual writes', owner_team: TEAM, switch: { name: 'writes', position: 'dual (mysql primary)' } },
          { title: 'Move reads to 50% DynamoDB', owner_team: TEAM, switch: { name: 'reads', position: '50% dynamodb' } },
          { title: 'Compare row counts', owner_team: TEAM, verifies: 'row-counts' },
        ],
      },
      { key: 'landing', title: 'Landing', steps: [] },
    ],
  });
  return must(base, P.lead, 'POST', `/api/migrations/${id}/start`);
}

async function open(t, tok, id, opts) {
  const p = await person(browser, opts);
  defer(t, async () => {
    assert.deepEqual(p.page.errors, [], 'no script errors');
    await p.ctx.close();
  });
  await signIn(p.page, base, tok, `#/m/${id}`);
  await waitConn(p.page, /Live/);
  return p.page;
}

function row(page, name) {
  return page.locator(`section.matrix .sw[data-switch="${name}"]`);
}

async function expectAt(page, name, position) {
  await row(page, name).locator('.sw-current', { hasText: new RegExp(`^${position.replace(/[()%]/g, '\\$&')}`) })
    .waitFor({ timeout: LIVE_WAIT });
}

test('the matrix: a switch step ticked in one browser moves the switch in another, live; a rule refusal names the rule; revert one back', async (t) => {
  const id = 'sw-live';
  await cutover(id);
  const A = await open(t, P.alice, id);
  const B = await open(t, P.bob, id, { colorScheme: 'dark' });
  await B.evaluate(() => { window.__sameDocument = true; });

  // Every switch with every position, the current one marked.
  for (const page of [A, B]) {
    await expectAt(page, 'reads', 'mysql');
    await expectAt(page, 'writes', 'mysql');
  }
  assert.deepEqual((await row(A, 'reads').locator('.sw-pos-text').allTextContents()), READS);
  assert.equal(await row(A, 'reads').locator('[aria-current="true"]').count(), 1);
  await row(A, 'reads').locator('.sw-moved', { hasText: "At its starting position 'mysql'; not moved yet." }).waitFor();
  await A.locator('.sw-rule-list li', { hasText: "writes may not pass 'mysql' until reads is at '50% dynamodb' or beyond" }).waitFor();
  // Nothing to revert at the first position.
  assert.equal(await row(A, 'reads').getByRole('button', { name: /^Revert/ }).count(), 0);
  // The switch steps say what they move.
  await stepCard(A, 'Move reads to 10% DynamoDB').locator('.step-switch', { hasText: "Moves switch reads to '10% dynamodb' (now at 'mysql')" }).waitFor();
  await stepCard(A, 'Compare row counts').locator('.step-switch', { hasText: 'Verifies row-counts' }).waitFor();

  // Alice ticks the step; Bob's matrix moves without a reload.
  await stepCard(A, 'Move reads to 10% DynamoDB').getByRole('button', { name: /^Tick step 1:/ }).click();
  for (const page of [A, B]) {
    await expectAt(page, 'reads', '10% dynamodb');
    await row(page, 'reads').locator('.sw-moved', {
      hasText: /^Moved to '10% dynamodb' by Alice at \d\d:\d\d:\d\d \(step “Move reads to 10% DynamoDB”\)$/,
    }).waitFor({ timeout: LIVE_WAIT });
    await row(page, 'reads').locator('.sw-state', { hasText: 'Applied' }).waitFor();
  }
  await B.locator('.timeline li', { hasText: "Alice moved reads to '10% dynamodb'" }).waitFor({ timeout: LIVE_WAIT });
  await stepCard(B, 'Move reads to 50% DynamoDB').locator('.step-switch', { hasText: "(now at '10% dynamodb')" }).waitFor({ timeout: LIVE_WAIT });
  await stepCard(B, 'Move reads to 10% DynamoDB').locator('.step-switch', { hasText: '(reads is there now)' }).waitFor();
  assert.equal(await B.evaluate(() => window.__sameDocument), true, 'B was not reloaded');

  // Dual writes before reads are at 50%: refused, and the refusal says which rule.
  await stepCard(A, 'Start dual writes').getByRole('button', { name: /^Tick step 2:/ }).click();
  await stepCard(A, 'Start dual writes').locator('.step-msg.msg-error', {
    hasText: "Refused by the rule “writes may not pass 'mysql' until reads is at '50% dynamodb' or beyond”: reads must be at '50% dynamodb' or beyond (now '10% dynamodb').",
  }).waitFor({ timeout: LIVE_WAIT });
  await expectAt(A, 'writes', 'mysql');
  assert.equal((await must(base, P.lead, 'GET', `/api/migrations/${id}`)).switches.find((s) => s.name === 'writes').position, 'mysql');
  for (const page of [A, B]) await page.evaluate(() => window.scrollTo(0, 0));
  await A.screenshot({ path: artifact('switches-matrix-light.png'), fullPage: true });
  await B.screenshot({ path: artifact('switches-matrix-dark.png'), fullPage: true });

  // Bob, an engineer, takes reads back one position: a confirmation, then both screens follow.
  await row(B, 'reads').getByRole('button', { name: 'Revert reads from 10% dynamodb to mysql' }).click();
  const dlg = B.getByRole('dialog', { name: 'Revert reads?' });
  assert.equal(await dlg.getByRole('combobox', { name: 'Back to' }).inputValue(), 'mysql');
  await dlg.getByRole('textbox', { name: 'Reason (optional)' }).fill('read errors up 3x');
  await dlg.getByRole('button', { name: 'Revert', exact: true }).click();
  for (const page of [A, B]) {
    await expectAt(page, 'reads', 'mysql');
    await row(page, 'reads').locator('.sw-moved', { hasText: /^Reverted to 'mysql' by Bob at \d\d:\d\d:\d\d — read errors up 3x$/ })
      .waitFor({ timeout: LIVE_WAIT });
  }
  await A.locator('.timeline li', { hasText: "Bob reverted reads to 'mysql'" }).waitFor({ timeout: LIVE_WAIT });
  await row(A, 'reads').locator('.sw-history summary', { hasText: 'History (2 moves)' }).waitFor({ timeout: LIVE_WAIT });
  const reads = (await must(base, P.lead, 'GET', `/api/migrations/${id}/switches`)).items.find((s) => s.name === 'reads');
  assert.equal(reads.position, 'mysql');
  assert.equal(reads.history.at(-1).kind, 'revert');
  assert.equal(reads.history.at(-1).reason, 'read errors up 3x');
});

test('revert to an earlier position in one action; a viewer sees the matrix but no revert', async (t) => {
  const id = 'sw-pick';
  const doc = await cutover(id);
  const [, , fifty] = doc.stages[0].steps;
  await must(base, P.alice, 'POST', `/api/migrations/${id}/steps/${fifty.id}/tick`, {});
  const A = await open(t, P.alice, id, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const V = await open(t, P.vic, id);
  await expectAt(A, 'reads', '50% dynamodb');
  await expectAt(V, 'reads', '50% dynamodb');
  assert.equal(await V.locator('section.matrix').getByRole('button', { name: /^Revert/ }).count(), 0);
  await A.locator('section.matrix').scrollIntoViewIfNeeded();
  await A.screenshot({ path: artifact('switches-matrix-phone.png') });

  await row(A, 'reads').getByRole('button', { name: "Revert reads from 50% dynamodb to 10% dynamodb" }).click();
  const dlg = A.getByRole('dialog', { name: 'Revert reads?' });
  const pick = dlg.getByRole('combobox', { name: 'Back to' });
  assert.deepEqual(await pick.locator('option').allTextContents(), ['10% dynamodb (one back)', 'mysql']);
  await pick.selectOption('mysql');
  await dlg.getByRole('button', { name: 'Revert', exact: true }).click();
  for (const page of [A, V]) await expectAt(page, 'reads', 'mysql');
  const reads = (await must(base, P.lead, 'GET', `/api/migrations/${id}/switches`)).items.find((s) => s.name === 'reads');
  assert.equal(reads.position, 'mysql');
  assert.equal(reads.history.at(-1).from, '50% dynamodb');
});

test('a switch with a flag call: applying while the flag system answers, applied on 2xx, failed with the reason otherwise', async (t) => {
  // A flag system on loopback that holds its answer until the test lets it go.
  const answers = [];
  const flags = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answers.push(res));
  });
  await new Promise((resolve) => flags.listen(0, '127.0.0.1', resolve));
  defer(t, () => new Promise((resolve) => {
    flags.closeAllConnections();
    flags.close(() => resolve());
  }));
  const release = async (status, body) => {
    const deadline = Date.now() + LIVE_WAIT;
    while (answers.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const res = answers.shift();
    assert.ok(res, 'the flag system was called');
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const id = 'sw-flags';
  const doc = await cutover(id, {
    readsAction: {
      method: 'PATCH',
      url: `http://127.0.0.1:${flags.address().port}/flags/dynamodb-reads`,
      body: { variation: '{{position}}' },
    },
  });
  const [ten, , fifty] = doc.stages[0].steps;
  const A = await open(t, P.alice, id);

  await stepCard(A, 'Move reads to 10% DynamoDB').getByRole('button', { name: /^Tick step 1:/ }).click();
  await row(A, 'reads').locator('.sw-state', { hasText: 'Applying…' }).waitFor({ timeout: LIVE_WAIT });
  await expectAt(A, 'reads', '10% dynamodb');
  await release(200, { ok: true });
  await row(A, 'reads').locator('.sw-state', { hasText: 'Applied' }).waitFor({ timeout: LIVE_WAIT });
  assert.match(await row(A, 'reads').getAttribute('class'), /sw-applied/);

  await must(base, P.alice, 'POST', `/api/migrations/${id}/steps/${fifty.id}/tick`, {});
  await row(A, 'reads').locator('.sw-state', { hasText: 'Applying…' }).waitFor({ timeout: LIVE_WAIT });
  await release(400, { message: 'unknown variation' });
  await row(A, 'reads').locator('.sw-state', { hasText: 'Failed' }).waitFor({ timeout: LIVE_WAIT });
  await row(A, 'reads').locator('.sw-error', { hasText: /^Not applied: .*400/ }).waitFor();
  // The step that moved it is failed, with the reason.
  await stepCard(A, 'Move reads to 50% DynamoDB').locator('.step-status', { hasText: 'Failed' }).waitFor({ timeout: LIVE_WAIT });
  await A.evaluate(() => window.scrollTo(0, 0));
  await A.screenshot({ path: artifact('switches-flag-failed-light.png'), fullPage: true });
  assert.equal(ten.switch.name, 'reads');
});
