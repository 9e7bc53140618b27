// Two engineers on one checklist, each in their own browser: ticks travel live, a race has one
// winner and the loser is told who won, and a dropped connection misses nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defer, LIVE_WAIT, call, cleanup, crew, flight, launch, must, person, signIn, startServer, stepCard,
  stopServer, takeoffSteps, tempDir, waitConn,
} from './lib.mjs';

const MID = 'browser-flight';
let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

// A fresh server and database, a started migration, and two engineers signed in on its cockpit.
async function scene(t) {
  const dir = tempDir();
  const server = await startServer({ dir });
  defer(t, async () => {
    await stopServer(server);
    cleanup(dir);
  });
  const people = crew();
  const doc = await flight(server.url, people, { id: MID });
  const A = await person(browser);
  const B = await person(browser);
  defer(t, async () => {
    assert.deepEqual(A.page.errors, [], 'no script errors on A');
    assert.deepEqual(B.page.errors, [], 'no script errors on B');
    await A.ctx.close();
    await B.ctx.close();
  });
  await signIn(A.page, server.url, people.alice, `#/m/${MID}`);
  await signIn(B.page, server.url, people.bob, `#/m/${MID}`);
  await waitConn(A.page, /Live/);
  await waitConn(B.page, /Live/);
  return { base: server.url, people, doc, A: A.page, B: B.page, Actx: A.ctx, Bctx: B.ctx };
}

const exact = (s) => new RegExp(`^${s}$`);

test('A ticks a step and B sees it without reloading', async (t) => {
  const { A, B } = await scene(t);
  await B.evaluate(() => { window.__sameDocument = true; });

  await stepCard(A, 'Step 1').getByRole('button', { name: /^Tick step 1:/ }).click();
  await stepCard(A, 'Step 1').locator('.step-who', { hasText: /^Ticked by Alice at \d\d:\d\d:\d\d$/ }).waitFor();

  await stepCard(B, 'Step 1').locator('.step-who', { hasText: /^Ticked by Alice at \d\d:\d\d:\d\d$/ })
    .waitFor({ timeout: LIVE_WAIT });
  assert.match(await stepCard(B, 'Step 1').getAttribute('class'), /status-done/);
  await B.locator('.timeline li', { hasText: 'Alice ticked “Step 1”' }).waitFor({ timeout: LIVE_WAIT });
  assert.equal(await B.evaluate(() => window.__sameDocument), true, 'B was not reloaded');
  // Each sees the other among who is here.
  await A.locator('.presence li', { hasText: 'Bob' }).waitFor({ timeout: LIVE_WAIT });
  await B.locator('.presence li', { hasText: 'Alice' }).waitFor({ timeout: LIVE_WAIT });
  // Bob may not untick Alice's tick (engineers untick their own); Alice may.
  assert.equal(await stepCard(B, 'Step 1').getByRole('button', { name: /^Untick/ }).count(), 0);
  assert.equal(await stepCard(A, 'Step 1').getByRole('button', { name: /^Untick/ }).count(), 1);
});

test('both click the same step: one wins, the other is told who ticked it and when', async (t) => {
  const { base, people, doc, A, B } = await scene(t);
  const step = takeoffSteps(doc)[2];
  const tickA = await stepCard(A, 'Step 3').getByRole('button', { name: /^Tick step 3:/ }).elementHandle();
  const tickB = await stepCard(B, 'Step 3').getByRole('button', { name: /^Tick step 3:/ }).elementHandle();
  // Two clicks dispatched at once; the buttons' handlers run even if a live update redraws the
  // card in between, exactly like a click that lands just before the screen changes.
  await Promise.all([tickA.evaluate((b) => b.click()), tickB.evaluate((b) => b.click())]);

  for (const page of [A, B]) {
    await stepCard(page, 'Step 3').locator('.step-who', { hasText: /^Ticked by (Alice|Bob) at / }).waitFor({ timeout: LIVE_WAIT });
  }
  const after = await call(base, people.lead, 'GET', `/api/migrations/${MID}`);
  const now = takeoffSteps(after.body).find((s) => s.id === step.id);
  assert.equal(now.status, 'done');
  const winner = now.by.name;
  const loser = winner === 'Alice' ? B : A;
  const winnerPage = winner === 'Alice' ? A : B;
  const msg = stepCard(loser, 'Step 3').locator('.step-msg.msg-conflict');
  await msg.waitFor({ timeout: LIVE_WAIT });
  assert.match(await msg.textContent(), new RegExp(`^already ticked by ${winner} at \\d\\d:\\d\\d:\\d\\d$`));
  assert.equal(await stepCard(winnerPage, 'Step 3').locator('.step-msg.msg-conflict').count(), 0);
  // Still the cockpit, not an error page.
  assert.equal(await loser.locator('li.step').count(), 6);

  const audit = await call(base, people.lead, 'GET', `/api/migrations/${MID}/audit?format=json&after=0`);
  const ticks = audit.body.filter((e) => e.action === 'step.tick' && e.target === `steps/${step.id}`);
  assert.equal(ticks.length, 1, 'exactly one tick recorded');
});

test('B goes offline while A ticks three steps; back online, B shows all three', async (t) => {
  const { A, B, Bctx } = await scene(t);
  await Bctx.setOffline(true);
  await waitConn(B, /Offline/);
  await B.locator('.stale-banner').waitFor();

  for (const n of [3, 4, 5]) {
    await stepCard(A, `Step ${n}`).getByRole('button', { name: new RegExp(`^Tick step ${n}:`) }).click();
    await stepCard(A, `Step ${n}`).locator('.step-who', { hasText: /^Ticked by Alice/ }).waitFor();
  }
  // B really was cut off: its screen still shows the three steps open (and says it is stale).
  for (const n of [3, 4, 5]) {
    assert.match(await stepCard(B, `Step ${n}`).getAttribute('class'), /status-pending/);
  }
  assert.equal(await B.locator('.stale-banner').isVisible(), true);

  await Bctx.setOffline(false);
  await waitConn(B, /Live/, 15000);
  for (const n of [3, 4, 5]) {
    await stepCard(B, `Step ${n}`).locator('.step-who', { hasText: /^Ticked by Alice at / }).waitFor({ timeout: LIVE_WAIT });
    await B.locator('.timeline li', { hasText: `Alice ticked “Step ${n}”` }).waitFor({ timeout: LIVE_WAIT });
  }
  assert.equal(await B.locator('.stale-banner').isVisible(), false);
  // Each tick once in B's timeline: the replay after reconnecting has no duplicates.
  assert.equal(await B.locator('.timeline li', { hasText: /Alice ticked “Step [345]”/ }).count(), 3);
});

test('skips and failures made while B was away appear with their reasons when B is back', async (t) => {
  const { base, people, doc, A, B } = await scene(t);
  const steps = takeoffSteps(doc);
  // The browser says it lost the network (as a laptop leaving Wi-Fi does): the page stops
  // trusting its stream at once, and resumes from the last event it holds when back.
  await stepCard(A, 'Step 1').getByRole('button', { name: /^Tick step 1:/ }).click();
  await stepCard(B, 'Step 1').locator('.step-who', { hasText: /^Ticked by Alice/ }).waitFor({ timeout: LIVE_WAIT });
  await B.evaluate(() => window.dispatchEvent(new Event('offline')));
  await waitConn(B, /Offline/);
  await must(base, people.bob, 'POST', `/api/migrations/${MID}/steps/${steps[1].id}/skip`, { reason: 'done by hand' });
  await must(base, people.alice, 'POST', `/api/migrations/${MID}/steps/${steps[3].id}/fail`, { note: 'timed out' });
  await B.evaluate(() => window.dispatchEvent(new Event('online')));
  await waitConn(B, /Live/, 15000);
  await stepCard(B, 'Step 2').locator('.step-who', { hasText: /^Skipped by Bob at .* — done by hand$/ }).waitFor({ timeout: LIVE_WAIT });
  await stepCard(B, 'Step 4').locator('.step-who', { hasText: /^Marked failed by Alice at .* — timed out$/ }).waitFor({ timeout: LIVE_WAIT });
  await B.locator('.timeline li', { hasText: 'Bob skipped “Step 2”' }).waitFor({ timeout: LIVE_WAIT });
  assert.equal(await B.locator('.timeline li', { hasText: 'Alice ticked “Step 1”' }).count(), 1);
  assert.match(await B.locator('.checklist-progress').textContent(), /2 of 6 finished · 1 failed/);
});

test('the untick of a tick reaches the other screen, and the list page follows along', async (t) => {
  const { base, A, B } = await scene(t);
  await B.goto(`${base}/#/`);
  const card = B.locator('.mcard', { has: B.locator('.mcard-title', { hasText: exact(`Browser test flight ${MID}`) }) });
  await card.waitFor();
  await waitConn(B, /Live/);
  const takeoff = card.locator('.mini-stage', { hasText: 'Take-off' });
  assert.equal((await takeoff.locator('.mini-count').textContent()).trim(), '0/6');

  await stepCard(A, 'Step 2').getByRole('button', { name: /^Tick step 2:/ }).click();
  await takeoff.locator('.mini-count', { hasText: '1/6' }).waitFor({ timeout: LIVE_WAIT });
  await stepCard(A, 'Step 2').getByRole('button', { name: /^Untick step 2:/ }).click();
  await takeoff.locator('.mini-count', { hasText: '0/6' }).waitFor({ timeout: LIVE_WAIT });
});
