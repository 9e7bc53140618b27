// What the UI must never do: offer a viewer buttons the server would refuse anyway, let a step
// title run as code, or let a cookie-authenticated request change state without the CSRF header.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defer, LIVE_WAIT, TEAM, call, cleanup, crew, flight, launch, must, person, signIn, startServer,
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

async function scene(t) {
  const dir = tempDir();
  const server = await startServer({ dir });
  defer(t, async () => {
    await stopServer(server);
    cleanup(dir);
  });
  const people = crew();
  const doc = await flight(server.url, people, { id: MID });
  return { base: server.url, people, doc };
}

async function open(t, base, tok, hash) {
  const p = await person(browser);
  defer(t, async () => {
    assert.deepEqual(p.page.errors, [], 'no script errors');
    await p.ctx.close();
  });
  await signIn(p.page, base, tok, hash);
  return p.page;
}

test('a viewer sees the checklist but no tick buttons, and the API refuses a tick anyway', async (t) => {
  const { base, people, doc } = await scene(t);
  const page = await open(t, base, people.vic, `#/m/${MID}`);
  await waitConn(page, /Live/);
  await page.locator('li.step').first().waitFor();
  assert.equal(await page.locator('li.step').count(), 6);
  assert.equal(await page.locator('button.tick-box').count(), 0, 'no tick boxes');
  assert.equal(await page.locator('.step-actions button').count(), 0, 'no skip/fail/untick buttons');
  assert.equal(await page.getByRole('button', { name: /^(Tick|Untick|Skip|Mark)/ }).count(), 0);
  assert.equal(await page.locator('.lead-actions button').count(), 0, 'no stage actions');
  assert.match(await page.locator('.notice').textContent(), /viewer/);
  // The keyboard shortcut does nothing either.
  await page.locator('li.step').first().focus();
  await page.keyboard.press('x');

  const step = takeoffSteps(doc)[0];
  const bearer = await call(base, people.vic, 'POST', `/api/migrations/${MID}/steps/${step.id}/tick`, {});
  assert.equal(bearer.status, 403, JSON.stringify(bearer.body));
  // With the viewer's own session cookie and the CSRF header, as the UI would send it.
  const cookie = await page.evaluate(async (url) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'flightdeck', 'Idempotency-Key': crypto.randomUUID() },
      body: '{}',
    });
    return res.status;
  }, `/api/migrations/${MID}/steps/${step.id}/tick`);
  assert.equal(cookie, 403);
  const after = await must(base, people.lead, 'GET', `/api/migrations/${MID}`);
  assert.equal(takeoffSteps(after)[0].status, 'pending', 'nothing was ticked');
});

test('a cookie-authenticated tick without the CSRF header is refused', async (t) => {
  const { base, people, doc } = await scene(t);
  const page = await open(t, base, people.alice, `#/m/${MID}`);
  await page.locator('li.step').first().waitFor();
  const step = takeoffSteps(doc)[0];
  const status = await page.evaluate(async (url) => {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    return res.status;
  }, `/api/migrations/${MID}/steps/${step.id}/tick`);
  assert.ok(status === 401 || status === 403, `refused, got ${status}`);
  const after = await must(base, people.lead, 'GET', `/api/migrations/${MID}`);
  assert.equal(takeoffSteps(after)[0].status, 'pending');
});

test('an XSS title, details and note render as text and never run', async (t) => {
  const { base, people } = await scene(t);
  const evil = '<img src=x onerror="window.__xss=1">';
  const evil2 = '<script>window.__xss=2</script>';
  const evil3 = '<img src=x onerror="window.__xss=3">';
  await must(base, people.lead, 'POST', '/api/migrations', {
    id: 'xss-flight',
    title: `XSS ${evil}`,
    description: evil2,
    owner_team: TEAM,
    stages: [{ key: 'takeoff', title: `Take ${evil}`, steps: [{ title: evil, details: evil2, command: evil }] }],
  });
  const doc = await must(base, people.lead, 'POST', '/api/migrations/xss-flight/start');
  const step = doc.stages[0].steps[0];

  // The list shows the title as text.
  const list = await open(t, base, people.alice, '#/');
  await list.locator('.mcard-title', { hasText: `XSS ${evil}` }).waitFor();

  const page = await open(t, base, people.alice, '#/m/xss-flight');
  const card = page.locator('li.step').first();
  await card.waitFor();
  assert.equal(await card.locator('.step-title').textContent(), evil);
  assert.equal(await card.locator('.step-details').textContent(), evil2);
  assert.equal(await card.locator('.step-command code').textContent(), evil);
  assert.equal(await page.locator('#m-title').textContent(), `XSS ${evil}`);

  // Tick it with an evil note: the note shows as text on the other screen and in the timeline.
  await card.getByRole('button', { name: 'Tick step 1 with a note' }).click();
  await page.locator(`#step-${step.id}-note`).fill(evil3);
  await page.keyboard.press('Enter');
  await card.locator('.step-who', { hasText: evil3 }).waitFor({ timeout: LIVE_WAIT });
  await page.locator('.timeline .tl-note', { hasText: evil3 }).waitFor({ timeout: LIVE_WAIT });

  const found = await page.evaluate(() => ({
    xss: window.__xss,
    imgs: document.querySelectorAll('main img').length,
    scripts: document.querySelectorAll('main script').length,
  }));
  assert.deepEqual(found, { xss: undefined, imgs: 0, scripts: 0 });
  assert.equal(await list.evaluate(() => window.__xss), undefined);
  assert.equal(await list.evaluate(() => document.querySelectorAll('main img').length), 0);
});
