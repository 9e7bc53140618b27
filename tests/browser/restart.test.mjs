// The server restarts in the middle of a cutover (deploy, crash, node moved): the cockpit says so
// at once, reconnects by itself, and shows what happened while it was away. Nobody reloads.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defer, LIVE_WAIT, cleanup, crew, flight, freePort, launch, must, person, signIn, startServer, stepCard,
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

test('the server restarts mid-session and the UI recovers by itself', async (t) => {
  const dir = tempDir();
  const port = await freePort(); // explicit, so the restarted server is at the same address
  let server = await startServer({ dir, port });
  defer(t, async () => {
    await stopServer(server);
    cleanup(dir);
  });
  const base = server.url;
  const people = crew();
  const doc = await flight(base, people, { id: MID });
  const steps = takeoffSteps(doc);

  const A = await person(browser);
  const B = await person(browser);
  defer(t, async () => {
    assert.deepEqual(B.page.errors, [], 'no script errors on B');
    await A.ctx.close();
    await B.ctx.close();
  });
  await signIn(A.page, base, people.alice, `#/m/${MID}`);
  await signIn(B.page, base, people.bob, `#/m/${MID}`);
  await waitConn(A.page, /Live/);
  await waitConn(B.page, /Live/);
  await B.page.evaluate(() => { window.__sameDocument = true; });

  await stepCard(A.page, 'Step 1').getByRole('button', { name: /^Tick step 1:/ }).click();
  await stepCard(B.page, 'Step 1').locator('.step-who', { hasText: /^Ticked by Alice/ }).waitFor({ timeout: LIVE_WAIT });

  const stopped = await stopServer(server);
  assert.equal(stopped.code, 0, `SIGTERM ends the server cleanly\n${server.log()}`);
  // The screen says at once that it is not live any more.
  await waitConn(B.page, /Reconnecting|Offline/, 10000);
  await B.page.locator('.stale-banner').waitFor();

  server = await startServer({ dir, port });
  assert.equal(server.url, base);
  // A bot ticks right after the restart, perhaps before the browsers are back.
  await must(base, people.lead, 'POST', `/api/migrations/${MID}/steps/${steps[1].id}/tick`, { note: 'from the runbook bot' });

  await waitConn(A.page, /Live/, 30000);
  await waitConn(B.page, /Live/, 30000);
  await stepCard(B.page, 'Step 2').locator('.step-who', { hasText: /^Ticked by Lee Lead at .* — from the runbook bot$/ })
    .waitFor({ timeout: LIVE_WAIT });
  assert.equal(await B.page.locator('.stale-banner').isVisible(), false);

  // The session survived the restart: A still ticks from the same page, and B sees it live.
  await stepCard(A.page, 'Step 3').getByRole('button', { name: /^Tick step 3:/ }).click();
  await stepCard(B.page, 'Step 3').locator('.step-who', { hasText: /^Ticked by Alice at / }).waitFor({ timeout: LIVE_WAIT });
  await B.page.locator('.timeline li', { hasText: 'Alice ticked “Step 3”' }).waitFor({ timeout: LIVE_WAIT });
  assert.equal(await B.page.locator('.timeline li', { hasText: 'Alice ticked “Step 1”' }).count(), 1, 'no duplicate after the replay');
  assert.equal(await B.page.evaluate(() => window.__sameDocument), true, 'B recovered without a reload');
});
