// The cockpit as a person uses it: sign in with a dev user or a token, move with the keyboard,
// the lead's stage actions behind confirmations, and screenshots (laptop and phone, light and
// dark) saved to tests/browser/artifacts/ for a human to look at.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defer, LIVE_WAIT, artifact, cleanup, crew, flight, launch, must, person, signIn, startServer, stepCard,
  stopServer, takeoffSteps, tempDir, waitConn,
} from './lib.mjs';

const MID = 'browser-flight';
let browser;
let server;
let dir;
let people;
let base;

before(async () => {
  browser = await launch();
  dir = tempDir();
  server = await startServer({ dir });
  base = server.url;
  people = crew();
  await flight(base, people, { id: MID });
});
after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  cleanup(dir);
});

async function open(t, tok, hash, opts) {
  const p = await person(browser, opts);
  defer(t, async () => {
    assert.deepEqual(p.page.errors, [], 'no script errors');
    await p.ctx.close();
  });
  await signIn(p.page, base, tok, hash);
  return p.page;
}

test('keyboard: j/k move between steps, x ticks the focused one, ? shows the shortcuts', async (t) => {
  const page = await open(t, people.alice, `#/m/${MID}`);
  await waitConn(page, /Live/);
  await page.locator('li.step').first().waitFor();
  for (const key of ['j', 'j', 'j', 'k', 'ArrowDown']) await page.keyboard.press(key);
  // Steps 1, 2, 3, back to 2, down to 3.
  assert.equal(await page.evaluate(() => document.activeElement.querySelector('.step-title').textContent), 'Step 3');
  await page.keyboard.press('x');
  await stepCard(page, 'Step 3').locator('.step-who', { hasText: /^Ticked by Alice at / }).waitFor({ timeout: LIVE_WAIT });
  // Focus stays on the step just ticked, so the next key works from there.
  assert.equal(await page.evaluate(() => document.activeElement.querySelector('.step-title').textContent), 'Step 3');
  await page.keyboard.press('j');
  await page.keyboard.press('s');
  await page.keyboard.type('not needed this time');
  await page.keyboard.press('Enter');
  await stepCard(page, 'Step 4').locator('.step-who', { hasText: /^Skipped by Alice at .* — not needed this time$/ })
    .waitFor({ timeout: LIVE_WAIT });

  await page.keyboard.press('?');
  const dlg = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await dlg.waitFor();
  await page.keyboard.press('Escape');
  await dlg.waitFor({ state: 'detached' });

  // Every control has a name a screen reader can say.
  const nameless = await page.evaluate(() => [...document.querySelectorAll('button, a[href], input, textarea')]
    .filter((el) => !(el.getAttribute('aria-label') || el.textContent.trim() || (el.id && document.querySelector(`label[for="${el.id}"]`))))
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(nameless, []);
});

test('dev sign-in lists demo users when the server offers them; a bad token is refused', async (t) => {
  const p = await person(browser);
  defer(t, () => p.ctx.close());
  const { page } = p;
  await page.goto(`${base}/`);
  await page.locator('#token').waitFor();
  const dev = await fetch(`${base}/api/dev/users`);
  if (dev.status === 200) {
    const users = await dev.json();
    await page.locator('.dev-user').first().waitFor();
    assert.equal(await page.locator('.dev-user').count(), users.length);
  } else {
    assert.equal(await page.locator('.dev-section').isVisible(), false);
  }
  await page.locator('#token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.signin-status', { hasText: /refused/ }).waitFor();
  await page.screenshot({ path: artifact('signin-light.png') });
});

test('a lead completes take-off after confirming, and in-flight becomes active', async (t) => {
  const doc = await must(base, people.lead, 'GET', `/api/migrations/${MID}`);
  const page = await open(t, people.lead, `#/m/${MID}`);
  await waitConn(page, /Live/);
  await page.locator('li.step').first().waitFor();

  // Refused while steps are open: the dialog lists what blocks.
  await page.getByRole('button', { name: /^Complete Take-off/ }).click();
  const confirm = page.getByRole('dialog');
  await confirm.getByRole('button', { name: 'Complete Take-off' }).click();
  const refused = page.getByRole('dialog', { name: 'Refused' });
  await refused.waitFor();
  await refused.locator('li', { hasText: 'Step 1' }).waitFor();
  await refused.getByRole('button', { name: 'OK' }).click();

  // Finish every step (the critical one needs a second person: Alice confirms the lead's tick);
  // then Cancel in the confirmation really cancels.
  for (const s of takeoffSteps(doc)) {
    if (s.status === 'pending') {
      const ticked = await must(base, people.lead, 'POST', `/api/migrations/${MID}/steps/${s.id}/tick`, { note: 'lead' });
      if (s.critical) {
        assert.equal(ticked.status, 'awaiting_confirmation');
        await must(base, people.alice, 'POST', `/api/migrations/${MID}/steps/${s.id}/confirm`, {});
      }
    }
  }
  await page.locator('.checklist-progress', { hasText: /6 of 6 finished/ }).waitFor({ timeout: LIVE_WAIT });
  await page.getByRole('button', { name: /^Complete Take-off/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await must(base, people.lead, 'GET', `/api/migrations/${MID}`)).current_stage, 'takeoff');

  await page.getByRole('button', { name: /^Complete Take-off/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Complete Take-off' }).click();
  await page.locator('.strip-item.stage-active', { hasText: 'In-flight' }).waitFor({ timeout: LIVE_WAIT });
  await page.locator('.strip-item.stage-done', { hasText: 'Take-off' }).waitFor();
  await page.locator('#checklist-title', { hasText: 'In-flight checklist' }).waitFor();
  assert.equal((await must(base, people.lead, 'GET', `/api/migrations/${MID}`)).current_stage, 'inflight');
});

test('a lead starts a draft migration and aborts it, each after a confirmation', async (t) => {
  const id = 'start-abort';
  await flight(base, people, { id, start: false });
  const page = await open(t, people.lead, `#/m/${id}`);
  await waitConn(page, /Live/);
  await page.locator('.notice', { hasText: /Not started yet/ }).waitFor();
  assert.equal(await page.locator('button.tick-box').count(), 0, 'nothing to tick before take-off');
  // The six-pack comes before the full dashboards.
  assert.deepEqual(await page.locator('.dashboards h3').allTextContents(), ['Six-pack', 'Full dashboards']);

  await page.getByRole('button', { name: 'Start migration…' }).click();
  await page.getByRole('dialog', { name: 'Start the migration?' }).getByRole('button', { name: 'Start', exact: true }).click();
  await page.locator('.mhead .badge', { hasText: 'In flight' }).waitFor({ timeout: LIVE_WAIT });
  await page.locator('.strip-item.stage-active', { hasText: 'Take-off' }).waitFor();
  await page.locator('button.tick-box').first().waitFor();

  await page.getByRole('button', { name: 'Abort…' }).click();
  const dlg = page.getByRole('dialog', { name: 'Abort the migration?' });
  await dlg.getByRole('button', { name: 'Abort migration' }).click();
  await dlg.locator('.dialog-error', { hasText: 'Reason is required.' }).waitFor();
  await dlg.getByRole('textbox', { name: 'Reason' }).fill('consumer lag out of bounds');
  await dlg.getByRole('button', { name: 'Abort migration' }).click();
  await page.locator('.mhead .badge', { hasText: 'Aborted' }).waitFor({ timeout: LIVE_WAIT });
  await page.locator('.abort-reason', { hasText: 'consumer lag out of bounds' }).waitFor();
  await page.locator('.notice', { hasText: /read-only/ }).waitFor();
  assert.equal(await page.locator('button.tick-box').count(), 0, 'an aborted flight has nothing to tick');
  assert.equal(await page.locator('.lead-actions button').count(), 0);
  const doc = await must(base, people.lead, 'GET', `/api/migrations/${id}`);
  assert.equal(doc.status, 'aborted');
  assert.equal(doc.abort_reason, 'consumer lag out of bounds');
});

test('screenshots of the cockpit: laptop and phone, light and dark', async (t) => {
  // A fresh flight with some history, so the pictures show every kind of step.
  const id = 'screens';
  const doc = await flight(base, people, { id });
  const steps = takeoffSteps(doc);
  await must(base, people.alice, 'POST', `/api/migrations/${id}/steps/${steps[0].id}/tick`, { note: 'announced in #data-stream' });
  await must(base, people.bob, 'POST', `/api/migrations/${id}/steps/${steps[2].id}/skip`, { reason: 'already frozen' });
  await must(base, people.bob, 'POST', `/api/migrations/${id}/steps/${steps[3].id}/fail`, { note: 'terraform timed out' });

  const shots = [
    ['cockpit-laptop-light.png', { colorScheme: 'light' }],
    ['cockpit-laptop-dark.png', { colorScheme: 'dark' }],
    ['cockpit-phone-light.png', { colorScheme: 'light', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
    ['cockpit-phone-dark.png', { colorScheme: 'dark', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
  ];
  for (const [name, opts] of shots) {
    const page = await open(t, people.alice, `#/m/${id}`, opts);
    await waitConn(page, /Live/);
    await stepCard(page, 'Step 1').locator('.step-who').waitFor();
    await page.locator('.timeline li').nth(3).waitFor();
    // Nothing wider than the screen on a phone (no sideways scrolling of the page).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name}: page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: artifact(name), fullPage: true });
  }
  const list = await open(t, people.alice, '#/', { colorScheme: 'dark' });
  await list.locator('.mcard').first().waitFor();
  await waitConn(list, /Live/);
  await list.screenshot({ path: artifact('list-dark.png') });
});
