// The gates in the cockpit, as a crew meets them across several browsers: the go/no-go board
// (waiting, go, no-go, stale, with names) updated live on every screen; the stage actions saying
// what they wait for and offering a lead the override with a reason; briefings acknowledged per
// team and marked stale when the plan changes; a critical step that only a second person can
// confirm, with one click; and the flight clock's overdue warnings.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defer, LIVE_WAIT, TEAM, artifact, cleanup, launch, must, person, signIn, startServer, stepCard,
  stopServer, tempDir, token, waitConn,
} from './lib.mjs';

const SRE = 'browser-sre';
let browser;
let server;
let dir;
let base;
let P; // tokens

before(async () => {
  browser = await launch();
  dir = tempDir();
  // A short flight clock, so a step planned for 0 minutes is flagged within a moment.
  server = await startServer({ dir, env: { FLIGHTDECK_OVERDUE_CHECK_MS: '200' } });
  base = server.url;
  P = {
    admin: token({ sub: 'ada', name: 'Ada Admin', role: 'admin', teams: [] }),
    lead: token({ sub: 'lee', name: 'Lee Lead', role: 'lead', teams: [TEAM] }),
    alice: token({ sub: 'alice', name: 'Alice', role: 'engineer', teams: [TEAM] }),
    bob: token({ sub: 'bob', name: 'Bob', role: 'engineer', teams: [TEAM] }),
    sam: token({ sub: 'sam', name: 'Sam', role: 'engineer', teams: [SRE] }),
  };
  await must(base, P.admin, 'POST', '/api/teams', { slug: TEAM, name: 'Browser crew', channel: '#browser-crew' });
  await must(base, P.admin, 'POST', '/api/teams', { slug: SRE, name: 'Browser SRE', channel: '#browser-sre' });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  cleanup(dir);
});

// A migration of two teams: take-off (a plain step and a critical one), in-flight, landing.
async function plan(id, { start = true, takeoff } = {}) {
  await must(base, P.lead, 'POST', '/api/migrations', {
    id,
    title: `Gates ${id}`,
    owner_team: TEAM,
    teams: [TEAM, SRE],
    stages: [
      {
        key: 'takeoff',
        title: 'Take-off',
        steps: takeoff || [
          { title: 'Freeze topic creation', owner_team: TEAM, expected_minutes: 30 },
          { title: 'Flip the producers', owner_team: TEAM, critical: true, expected_minutes: 30 },
        ],
      },
      { key: 'inflight', title: 'In-flight', steps: [{ title: 'Watch the six-pack', expected_minutes: 30 }] },
      { key: 'landing', title: 'Landing', steps: [{ title: 'Drain the old cluster' }] },
    ],
  });
  const doc = start
    ? await must(base, P.lead, 'POST', `/api/migrations/${id}/start`)
    : await must(base, P.lead, 'GET', `/api/migrations/${id}`);
  return doc;
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

// The row of `team` in the go/no-go board of stage `stage`.
function gateRow(page, stage, team) {
  return page.locator(`.gate-stage[data-stage="${stage}"] .gate-team[data-team="${team}"]`);
}

async function expectRow(page, stage, team, word, count) {
  const row = gateRow(page, stage, team);
  await row.locator('.gate-badge', { hasText: new RegExp(`^${word}$`) }).waitFor({ timeout: LIVE_WAIT });
  assert.equal((await row.locator('.gate-count').textContent()).trim(), count);
}

test('go/no-go board: signed in one browser, seen live in another; waiting, go, no-go, stale; complete says what is missing', async (t) => {
  const id = 'board';
  const doc = await plan(id);
  // The lead asks for a go from both teams before in-flight begins.
  await must(base, P.lead, 'PATCH', `/api/migrations/${id}/stages/inflight`, {
    signoffs: [{ team: TEAM }, { team: SRE }],
  });

  const A = await open(t, P.alice, id);
  const B = await open(t, P.sam, id);
  await B.evaluate(() => { window.__sameDocument = true; });
  for (const page of [A, B]) {
    await expectRow(page, 'inflight', TEAM, 'Waiting', '0/1');
    await expectRow(page, 'inflight', SRE, 'Waiting', '0/1');
    await page.locator('.gate-status', { hasText: `In-flight cannot begin yet — waiting for: ${TEAM} go (0/1), ${SRE} go (0/1)` })
      .waitFor({ timeout: LIVE_WAIT });
  }
  // Each signs only for their own team.
  assert.equal(await A.getByRole('button', { name: `Sign go for ${SRE} on In-flight` }).count(), 0);
  assert.equal(await B.getByRole('button', { name: `Sign go for ${TEAM} on In-flight` }).count(), 0);

  // Alice gives her team's go; Sam's screen shows it without a reload.
  await A.getByRole('button', { name: `Sign go for ${TEAM} on In-flight` }).click();
  const dlg = A.getByRole('dialog', { name: `Go for ${TEAM} on In-flight?` });
  await dlg.getByRole('textbox', { name: 'Comment (optional)' }).fill('producers ready');
  await dlg.getByRole('button', { name: 'Sign go' }).click();
  for (const page of [A, B]) {
    await expectRow(page, 'inflight', TEAM, 'Go', '1/1');
    await gateRow(page, 'inflight', TEAM).locator('.signer', { hasText: /^Alice go at \d\d:\d\d:\d\d — producers ready$/ })
      .waitFor({ timeout: LIVE_WAIT });
  }
  await B.locator('.timeline li', { hasText: `Alice signed go for ${TEAM} on In-flight` }).waitFor({ timeout: LIVE_WAIT });
  assert.equal(await B.evaluate(() => window.__sameDocument), true, 'B was not reloaded');

  // Sam says no-go (with a reason); both screens show it, and what the next stage waits for.
  await B.getByRole('button', { name: `Sign no-go for ${SRE} on In-flight` }).click();
  const nogo = B.getByRole('dialog', { name: `No-go for ${SRE} on In-flight?` });
  await nogo.getByRole('button', { name: 'Sign no-go' }).click();
  await nogo.locator('.dialog-error', { hasText: 'Comment is required.' }).waitFor();
  await nogo.getByRole('textbox', { name: 'Comment' }).fill('consumer lag too high');
  await nogo.getByRole('button', { name: 'Sign no-go' }).click();
  for (const page of [A, B]) {
    await expectRow(page, 'inflight', SRE, 'No-go', '0/1');
    await gateRow(page, 'inflight', SRE).locator('.signer', { hasText: /^Sam no-go at \d\d:\d\d:\d\d — consumer lag too high$/ })
      .waitFor({ timeout: LIVE_WAIT });
    await page.locator('.gate-status', { hasText: `${SRE} said no-go` }).waitFor({ timeout: LIVE_WAIT });
  }

  // A change to the stage makes Alice's go stale, visibly, on both screens.
  await must(base, P.lead, 'POST', `/api/migrations/${id}/stages/inflight/steps`, { title: 'Check the DLQ' });
  for (const page of [A, B]) {
    await expectRow(page, 'inflight', TEAM, 'Stale', '0/1');
    await gateRow(page, 'inflight', TEAM).locator('.signer-stale', { hasText: 'stale' }).waitFor({ timeout: LIVE_WAIT });
  }
  await A.screenshot({ path: artifact('gates-board-light.png'), fullPage: true });

  // Take-off is finished (the critical step confirmed by a second person); the lead's complete
  // button says what in-flight waits for, and offers the override with a reason.
  const [plain, critical] = doc.stages[0].steps;
  await must(base, P.alice, 'POST', `/api/migrations/${id}/steps/${plain.id}/tick`, {});
  await must(base, P.alice, 'POST', `/api/migrations/${id}/steps/${critical.id}/tick`, {});
  await must(base, P.bob, 'POST', `/api/migrations/${id}/steps/${critical.id}/confirm`, {});
  const L = await open(t, P.lead, id, { colorScheme: 'dark' });
  await L.locator('.gate-status', {
    hasText: `In-flight cannot begin yet — waiting for: ${TEAM} go (0/1, stale: the stage changed), ${SRE} said no-go`,
  }).waitFor({ timeout: LIVE_WAIT });
  await L.locator('.checklist-progress', { hasText: /2 of 2 finished/ }).waitFor({ timeout: LIVE_WAIT });
  await L.screenshot({ path: artifact('gates-board-dark.png'), fullPage: true });
  await L.getByRole('button', { name: /^Complete Take-off/ }).click();
  const why = L.getByRole('dialog', { name: 'In-flight cannot begin yet' });
  await why.locator('li', { hasText: `${SRE} said no-go` }).waitFor();
  await why.locator('li', { hasText: `${TEAM} go (0/1, stale: the stage changed)` }).waitFor();
  await why.getByRole('button', { name: 'Override and complete Take-off' }).click();
  await why.locator('.dialog-error', { hasText: 'Override reason is required.' }).waitFor();
  await why.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await must(base, P.lead, 'GET', `/api/migrations/${id}`)).current_stage, 'takeoff');

  await L.getByRole('button', { name: /^Complete Take-off/ }).click();
  await why.getByRole('textbox', { name: 'Override reason' }).fill('sre lag recovered; confirmed on the bridge');
  await why.getByRole('button', { name: 'Override and complete Take-off' }).click();
  await L.locator('.strip-item.stage-active', { hasText: 'In-flight' }).waitFor({ timeout: LIVE_WAIT });
  await A.locator('.timeline li', { hasText: 'Lee Lead overrode the gate of In-flight' }).waitFor({ timeout: LIVE_WAIT });
  const after = await must(base, P.lead, 'GET', `/api/migrations/${id}`);
  assert.equal(after.current_stage, 'inflight');
  assert.equal(after.gate_overrides.length, 1);
  assert.equal(after.gate_overrides[0].reason, 'sre lag recovered; confirmed on the bridge');
});

test('critical step: A ticks and is told someone else must confirm; B confirms with one click; both see it done', async (t) => {
  const id = 'critical';
  await plan(id);
  const A = await open(t, P.alice, id);
  const B = await open(t, P.bob, id);

  await stepCard(A, 'Flip the producers').getByRole('button', { name: /^Tick step 2:/ }).click();
  for (const page of [A, B]) {
    await stepCard(page, 'Flip the producers').locator('.step-who', { hasText: /^Awaiting confirmation — ticked by Alice at \d\d:\d\d:\d\d$/ })
      .waitFor({ timeout: LIVE_WAIT });
  }
  // Alice cannot be her own second pair of eyes.
  const mine = stepCard(A, 'Flip the producers').getByRole('button', { name: /^Confirm step 2: .*someone else must confirm/ });
  assert.equal(await mine.isDisabled(), true);
  await stepCard(A, 'Flip the producers').locator('.confirm-hint', { hasText: 'someone else must confirm' }).waitFor();
  assert.match(await stepCard(A, 'Flip the producers').getAttribute('class'), /status-awaiting_confirmation/);
  await A.screenshot({ path: artifact('gates-critical-awaiting.png') });
  // The stage is not finished while it waits.
  assert.match(await A.locator('.checklist-progress').textContent(), /0 of 2 finished/);

  // One click for Bob.
  await stepCard(B, 'Flip the producers').getByRole('button', { name: 'Confirm step 2: Flip the producers', exact: true }).click();
  for (const page of [A, B]) {
    await stepCard(page, 'Flip the producers').locator('.step-who', {
      hasText: /^Ticked by Alice at \d\d:\d\d:\d\d; confirmed by Bob at \d\d:\d\d:\d\d$/,
    }).waitFor({ timeout: LIVE_WAIT });
    assert.match(await stepCard(page, 'Flip the producers').getAttribute('class'), /status-done/);
    await page.locator('.timeline li', { hasText: 'Bob confirmed “Flip the producers”' }).waitFor({ timeout: LIVE_WAIT });
  }
  assert.equal(await stepCard(B, 'Flip the producers').getByRole('button', { name: /^Confirm/ }).count(), 0);
  const step = (await must(base, P.lead, 'GET', `/api/migrations/${id}`)).stages[0].steps[1];
  assert.equal(step.status, 'done');
  assert.equal(step.by.sub, 'alice');
  assert.equal(step.confirmed_by.sub, 'bob');
});

test('briefings: a lead calls one, a team acknowledges, a plan change marks it stale; start says what is missing', async (t) => {
  const id = 'briefed';
  const doc = await plan(id, { start: false });
  const L = await open(t, P.lead, id);
  const S = await open(t, P.sam, id);

  // Before take-off the briefings panel is open; the lead calls a briefing for both teams.
  await L.getByRole('button', { name: 'New briefing…' }).click();
  const form = L.getByRole('dialog', { name: 'New briefing' });
  await form.getByRole('textbox', { name: 'Title' }).fill('Take-off briefing <b>bold</b>');
  assert.equal(await form.getByRole('checkbox', { name: SRE }).isChecked(), true);
  await form.getByRole('button', { name: 'Create briefing' }).click();
  for (const page of [L, S]) {
    await page.locator('.briefing h3', { hasText: 'Take-off briefing <b>bold</b>' }).waitFor({ timeout: LIVE_WAIT });
    await page.locator('.gate-status', { hasText: `Start — waiting for: ${TEAM} acknowledgement, ${SRE} acknowledgement` })
      .waitFor({ timeout: LIVE_WAIT });
  }
  assert.equal(await L.locator('.briefing h3 b').count(), 0, 'a title is text, never markup');

  // Sam acknowledges for his team; the lead's screen follows.
  assert.equal(await S.getByRole('button', { name: `Acknowledge the plan for ${TEAM}` }).count(), 0);
  await S.getByRole('button', { name: `Acknowledge the plan for ${SRE}` }).click();
  await S.getByRole('dialog', { name: `Acknowledge the plan for ${SRE}?` }).getByRole('button', { name: 'Acknowledge' }).click();
  for (const page of [L, S]) {
    await page.locator(`.ack.ack-current[data-team="${SRE}"]`, { hasText: /acknowledged by Sam at \d\d:\d\d:\d\d \(rev \d+\)/ })
      .waitFor({ timeout: LIVE_WAIT });
  }
  const [briefing] = (await must(base, P.lead, 'GET', `/api/migrations/${id}/briefings`)).items;
  await must(base, P.alice, 'POST', `/api/migrations/${id}/briefings/${briefing.id}/acks`, { team: TEAM });
  await L.locator('.gate-status').waitFor({ state: 'hidden', timeout: LIVE_WAIT });

  // The plan changes: every acknowledgement is stale, visibly, and Sam may acknowledge again.
  await must(base, P.lead, 'PATCH', `/api/migrations/${id}/steps/${doc.stages[0].steps[0].id}`, { title: 'Freeze topic creation (all clusters)' });
  for (const page of [L, S]) {
    await page.locator(`.ack.ack-stale[data-team="${SRE}"]`, { hasText: /acknowledged rev \d+ by Sam — plan changed since/ })
      .waitFor({ timeout: LIVE_WAIT });
    await page.locator('.gate-status', {
      hasText: `Start — waiting for: ${TEAM} acknowledgement (stale: the plan changed), ${SRE} acknowledgement (stale: the plan changed)`,
    }).waitFor({ timeout: LIVE_WAIT });
  }
  await S.getByRole('button', { name: `Acknowledge the plan for ${SRE}` }).waitFor();
  await S.screenshot({ path: artifact('gates-briefing-stale.png'), fullPage: true });

  // Start says what is missing and lets the lead take off with a reason, on the record.
  await L.getByRole('button', { name: 'Start migration…' }).click();
  const why = L.getByRole('dialog', { name: 'Take-off is not cleared yet' });
  await why.locator('li', { hasText: `${TEAM} acknowledgement (stale: the plan changed)` }).waitFor();
  await why.getByRole('textbox', { name: 'Override reason' }).fill('only a title changed');
  await why.getByRole('button', { name: 'Override and start' }).click();
  await L.locator('.mhead .badge', { hasText: 'In flight' }).waitFor({ timeout: LIVE_WAIT });
  await S.locator('.timeline li', { hasText: 'Lee Lead overrode the start gate' }).waitFor({ timeout: LIVE_WAIT });
  await S.locator('.timeline li', { hasText: `Sam acknowledged the plan for ${SRE}` }).waitFor();
});

test('the flight clock: an overdue step and stage are flagged on screen and in the timeline', async (t) => {
  const id = 'clocked';
  await must(base, P.lead, 'POST', '/api/migrations', {
    id,
    title: 'Clocked flight',
    owner_team: TEAM,
    stages: [
      { key: 'takeoff', title: 'Take-off', expected_minutes: 0, steps: [{ title: 'Instant step', expected_minutes: 0 }, { title: 'Untimed step' }] },
      { key: 'landing', title: 'Landing', steps: [] },
    ],
  });
  const A = await open(t, P.alice, id);
  await must(base, P.lead, 'POST', `/api/migrations/${id}/start`);
  await A.locator('.timeline li', { hasText: 'flightdeck clock “Instant step” is past its expected time' }).waitFor({ timeout: LIVE_WAIT });
  await A.locator('.timeline li', { hasText: 'flightdeck clock Take-off is past its expected 0 min' }).waitFor({ timeout: LIVE_WAIT });
  await stepCard(A, 'Instant step').locator('.overdue-badge').waitFor({ timeout: LIVE_WAIT });
  assert.equal(await stepCard(A, 'Untimed step').locator('.overdue-badge').count(), 0);
  await A.locator('.stage-timing.overdue', { hasText: /^Elapsed \d+ min of 0 expected — overdue by \d+ min.*1 step overdue$/ }).waitFor();
  // Ticking it takes the mark away.
  await stepCard(A, 'Instant step').getByRole('button', { name: /^Tick step 1:/ }).click();
  await stepCard(A, 'Instant step').locator('.step-who').waitFor();
  assert.equal(await stepCard(A, 'Instant step').locator('.overdue-badge').count(), 0);
});
