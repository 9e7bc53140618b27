// The go-around panel in the cockpit, against a fake GitHub on loopback: armed (green) and not
// (red, with the reason, live, without a reload); the GO-AROUND button asking for a reason and
// the migration id typed to confirm, its progress while GitHub merges, the outcome in words, the
// migration "went around", and landing re-opened; a head that moved after approval refused with
// both commits shown; a second lead's confirmation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  defer, LIVE_WAIT, TEAM, artifact, cleanup, flight, launch, must, person, signIn, startServer,
  stopServer, tempDir, token, waitConn,
} from './lib.mjs';
import { FakeGitHub, TOKEN, sha } from './fake_github.mjs';

const REPO = 'acme/infra';
// The server re-checks every second (FLIGHTDECK_ROLLBACK_CHECK_SECONDS=1); a change shows up on
// screen within a few of those.
const CHECK_WAIT = 10000;

let browser;
let server;
let gh;
let dir;
let base;
let P;

before(async () => {
  browser = await launch();
  gh = new FakeGitHub();
  const ghUrl = await gh.start();
  dir = tempDir();
  server = await startServer({
    dir,
    env: {
      FLIGHTDECK_GITHUB_API: ghUrl,
      FLIGHTDECK_GITHUB_TOKEN: TOKEN,
      FLIGHTDECK_ROLLBACK_CHECK_SECONDS: '1',
    },
  });
  base = server.url;
  P = {
    admin: token({ sub: 'ada', name: 'Ada Admin', role: 'admin', teams: [TEAM] }),
    lead: token({ sub: 'lee', name: 'Lee Lead', role: 'lead', teams: [TEAM] }),
    lou: token({ sub: 'lou', name: 'Lou Lead', role: 'lead', teams: [TEAM] }),
    alice: token({ sub: 'alice', name: 'Alice', role: 'engineer', teams: [TEAM] }),
  };
});
after(async () => {
  if (browser) await browser.close();
  if (server) await stopServer(server);
  if (gh) await gh.stop();
  cleanup(dir);
});

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

function panel(page) {
  return page.locator('section.goaround');
}

async function expectState(page, state, timeout = LIVE_WAIT) {
  await page.locator(`section.goaround[data-state="${state}"]`).waitFor({ timeout });
}

// A started flight whose rollback PR `n` is armed by the lead over the API.
async function armedFlight(id, n, opts = {}) {
  gh.pr(REPO, n);
  await flight(base, P, { id, n: 2 });
  await must(base, P.lead, 'PUT', `/api/migrations/${id}/rollback`, { repo: REPO, pr: n, ...opts });
}

test('armed is green; failing checks turn it red with the reason, live; check now turns it green again', async (t) => {
  const id = 'ga-live';
  await armedFlight(id, 42, { merge_method: 'squash' });
  const A = await open(t, P.alice, id);
  await expectState(A, 'armed');
  const p = panel(A);
  assert.equal((await p.locator('.ga-state').textContent()).trim(), 'Armed');
  assert.equal(await p.getByRole('link', { name: `${REPO}#42` }).getAttribute('href'), `https://github.com/${REPO}/pull/42`);
  assert.equal((await p.locator('.ga-approved').textContent()).trim(), sha('head-42').slice(0, 7));
  await p.locator('.ga-checked', { hasText: /^\d\d:\d\d:\d\d \(\d+ s ago\)$|checking now…/ }).waitFor();
  // An engineer sees the state but cannot order a go-around.
  assert.equal(await p.getByRole('button', { name: /^Go around/ }).count(), 0);
  await p.locator('.ga-lead-only', { hasText: 'Only a lead can order a go-around.' }).waitFor();
  await A.evaluate(() => window.scrollTo(0, 0));
  await A.screenshot({ path: artifact('goaround-armed-light.png'), fullPage: true });

  // The PR's checks go red: the screen turns red with the reason, without a reload.
  await A.evaluate(() => { window.__sameDocument = true; });
  gh.pr(REPO, 42, { checks: 'failure' });
  await expectState(A, 'disarmed', CHECK_WAIT);
  assert.equal((await p.locator('.ga-state').textContent()).trim(), 'Not armed');
  await p.locator('.ga-reasons li', { hasText: 'check runs are failing: tests' }).waitFor();
  await A.locator('.timeline li', { hasText: 'flightdeck (rollback check) found the go-around not armed: check runs are failing: tests' }).waitFor({ timeout: LIVE_WAIT });
  assert.equal(await A.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
  await A.evaluate(() => window.scrollTo(0, 0));
  await A.screenshot({ path: artifact('goaround-disarmed-light.png'), fullPage: true });

  // Fixed on GitHub; "Check now" (from the keyboard) asks at once, and the keyboard stays on it.
  gh.pr(REPO, 42, { checks: 'success' });
  await p.getByRole('button', { name: 'Check now' }).focus();
  await A.keyboard.press('Enter');
  await expectState(A, 'armed', CHECK_WAIT);
  assert.equal(await p.locator('.ga-reasons').count(), 0);
  await A.waitForFunction(() => document.activeElement && document.activeElement.textContent === 'Check now'
    && !document.activeElement.disabled, null, { timeout: LIVE_WAIT });
});

test('GO-AROUND asks a reason and the typed migration id, shows progress, then "went around"; landing re-opens', async (t) => {
  const id = 'ga-go';
  gh.pr(REPO, 50, { mergeDelayMs: 1500 });
  await flight(base, P, { id, n: 2 });
  const L = await open(t, P.lead, id);
  const A = await open(t, P.alice, id);

  // No rollback yet: said plainly to everyone, and the lead arms one through the form.
  await expectState(L, 'none');
  await panel(A).locator('.ga-summary', { hasText: 'No rollback pull request is armed' }).waitFor();
  await panel(L).getByRole('button', { name: 'Arm rollback PR…' }).click();
  const form = L.getByRole('dialog', { name: 'Arm the rollback PR' });
  await form.getByRole('textbox', { name: 'Repository (owner/name)' }).fill(REPO);
  await form.getByRole('textbox', { name: 'Pull request number' }).fill('fifty');
  await form.getByRole('button', { name: 'Arm', exact: true }).click();
  await form.locator('.dialog-error', { hasText: 'Pull request number must be a whole number' }).waitFor();
  await form.getByRole('textbox', { name: 'Pull request number' }).fill('50');
  await form.getByRole('combobox', { name: 'Merge method' }).selectOption('squash');
  await form.getByRole('button', { name: 'Arm', exact: true }).click();
  for (const page of [L, A]) await expectState(page, 'armed');
  await panel(L).locator('.ga-msg', { hasText: `Armed ${REPO}#50 at ${sha('head-50').slice(0, 7)}.` }).waitFor();
  await A.locator('.timeline li', { hasText: `Lee Lead armed the rollback PR ${REPO}#50 at ${sha('head-50').slice(0, 7)}` }).waitFor({ timeout: LIVE_WAIT });

  // The big button asks why, and for the migration id typed out before it does anything.
  await panel(L).getByRole('button', { name: `Go around: merge the rollback PR ${REPO}#50` }).click();
  const dlg = L.getByRole('dialog', { name: 'Go around?' });
  const go = dlg.getByRole('button', { name: 'GO-AROUND' });
  assert.equal(await go.isDisabled(), true, 'disabled until the id is typed');
  await dlg.getByRole('textbox', { name: `Type ${id} to confirm` }).fill('ga-g');
  assert.equal(await go.isDisabled(), true);
  await dlg.getByRole('textbox', { name: `Type ${id} to confirm` }).fill(id);
  assert.equal(await go.isDisabled(), false);
  await go.click();
  await dlg.locator('.dialog-error', { hasText: 'Reason is required.' }).waitFor();
  assert.equal(gh.merges(REPO, 50), 0, 'nothing merged before the reason');
  await dlg.getByRole('textbox', { name: 'Reason' }).fill('consumer lag keeps growing');
  await go.click();

  // GitHub takes its time: the screen says what is happening.
  await panel(L).locator('.ga-progress', { hasText: `Going around: GitHub is merging ${REPO}#50 at ${sha('head-50').slice(0, 7)}…` })
    .waitFor({ timeout: LIVE_WAIT });
  await L.evaluate(() => window.scrollTo(0, 0));
  await L.screenshot({ path: artifact('goaround-merging-light.png'), fullPage: true });

  // The outcome, in words, on both screens; the migration went around.
  const merged = `Went around: ${REPO}#50 was merged as commit ${sha('merge-50').slice(0, 7)}`;
  for (const page of [L, A]) {
    await panel(page).locator('.ga-out-merged .ga-headline', { hasText: merged }).waitFor({ timeout: LIVE_WAIT });
    await page.locator('.mhead .badge', { hasText: 'Went around' }).waitFor({ timeout: LIVE_WAIT });
    await expectState(page, 'went-around');
    await panel(page).locator('.ga-reason', { hasText: 'Reason: consumer lag keeps growing' }).waitFor();
  }
  await A.locator('.notice', { hasText: 'This migration went around' }).waitFor();
  assert.equal(await panel(L).locator('.ga-progress').isHidden(), true);
  assert.equal(gh.merges(REPO, 50), 1, 'merged once');
  const put = gh.calls.find((c) => c.method === 'PUT' && c.path === `/repos/${REPO}/pulls/50/merge`);
  assert.equal(JSON.parse(put.body).sha, sha('head-50'), 'exactly the approved commit');
  // Nobody ticks a stopped flight; only leads get the after-actions.
  assert.equal(await A.getByRole('button', { name: /^Tick step/ }).count(), 0);
  assert.equal(await panel(A).getByRole('button', { name: 'Re-open landing…' }).count(), 0);
  await L.evaluate(() => window.scrollTo(0, 0));
  await L.screenshot({ path: artifact('goaround-went-around-light.png'), fullPage: true });

  // The lead re-opens landing: the flight is back in the air on both screens.
  await panel(L).getByRole('button', { name: 'Re-open landing…' }).click();
  await L.getByRole('dialog', { name: 'Re-open landing?' }).getByRole('button', { name: 'Re-open landing' }).click();
  for (const page of [L, A]) {
    await page.locator('.mhead .badge', { hasText: 'In flight' }).waitFor({ timeout: LIVE_WAIT });
    await page.locator('.strip-item.stage-active', { hasText: 'Take-off' }).waitFor({ timeout: LIVE_WAIT });
    await expectState(page, 'used');
    await panel(page).locator('.ga-out-merged', { hasText: 'Landing has been re-opened since' }).waitFor();
  }
  await A.getByRole('button', { name: /^Tick step 1:/ }).waitFor({ timeout: LIVE_WAIT });
  await A.locator('.timeline li', { hasText: 'Lee Lead re-opened landing' }).waitFor({ timeout: LIVE_WAIT });
  assert.equal((await must(base, P.lead, 'GET', `/api/migrations/${id}`)).status, 'in_flight');
});

test('a PR changed after approval: the go-around is refused and both commits are shown', async (t) => {
  const id = 'ga-head';
  await armedFlight(id, 60);
  const L = await open(t, P.lead, id, { colorScheme: 'dark' });
  await expectState(L, 'armed');
  gh.pr(REPO, 60, { head: sha('sneaky') });

  await panel(L).getByRole('button', { name: /^Go around/ }).click();
  const dlg = L.getByRole('dialog', { name: 'Go around?' });
  await dlg.getByRole('textbox', { name: 'Reason' }).fill('errors on the new cluster');
  await dlg.getByRole('textbox', { name: `Type ${id} to confirm` }).fill(id);
  await dlg.getByRole('button', { name: 'GO-AROUND' }).click();

  const words = `the PR changed after approval (approved ${sha('head-60').slice(0, 7)}, now ${sha('sneaky').slice(0, 7)}) — re-arm after review`;
  await panel(L).locator('.ga-out-failed .ga-headline', { hasText: words }).waitFor({ timeout: LIVE_WAIT });
  await expectState(L, 'disarmed', CHECK_WAIT);
  await panel(L).locator('.ga-reasons li[data-code="head_moved"]').waitFor({ timeout: CHECK_WAIT });
  await L.locator('.mhead .badge', { hasText: 'In flight' }).waitFor();
  assert.equal((await must(base, P.lead, 'GET', `/api/migrations/${id}`)).status, 'in_flight', 'nothing went around');
  await L.evaluate(() => window.scrollTo(0, 0));
  await L.screenshot({ path: artifact('goaround-head-changed-dark.png'), fullPage: true });

  // A second screen (another lead, on a phone) opened later tells the same story from the record.
  const A = await open(t, P.lou, id, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await panel(A).locator('.ga-out-failed .ga-headline', { hasText: words }).waitFor({ timeout: LIVE_WAIT });
  await panel(A).scrollIntoViewIfNeeded();
  await A.screenshot({ path: artifact('goaround-head-changed-phone.png') });
});

test('a rollback that needs a second lead: the order waits, another lead sees it and confirms', async (t) => {
  const id = 'ga-two';
  await armedFlight(id, 70, { requires_second_lead: true });
  const L = await open(t, P.lead, id);
  const M = await open(t, P.lou, id, { colorScheme: 'dark' });
  await expectState(L, 'armed');

  await panel(L).getByRole('button', { name: /^Go around/ }).click();
  const dlg = L.getByRole('dialog', { name: 'Go around?' });
  await dlg.locator('p', { hasText: 'This rollback needs a second lead' }).waitFor();
  await dlg.getByRole('textbox', { name: 'Reason' }).fill('data loss risk');
  await dlg.getByRole('textbox', { name: `Type ${id} to confirm` }).fill(id);
  await dlg.getByRole('button', { name: 'GO-AROUND' }).click();

  await panel(L).locator('.ga-out-pending', { hasText: 'Waiting for another lead to confirm' }).waitFor({ timeout: LIVE_WAIT });
  assert.equal(await panel(L).getByRole('button', { name: /^Confirm the go-around/ }).count(), 0, 'not my own request');
  await panel(M).locator('.ga-out-pending .ga-headline', { hasText: /^Lee Lead ordered a go-around at \d\d:\d\d:\d\d: a second lead must confirm by \d\d:\d\d:\d\d\.$/ })
    .waitFor({ timeout: LIVE_WAIT });
  assert.equal(gh.merges(REPO, 70), 0);
  await M.evaluate(() => window.scrollTo(0, 0));
  await M.screenshot({ path: artifact('goaround-pending-dark.png'), fullPage: true });

  await panel(M).getByRole('button', { name: 'Confirm the go-around ordered by Lee Lead' }).click();
  await M.getByRole('dialog', { name: 'Confirm the go-around?' }).getByRole('button', { name: 'Confirm go-around' }).click();
  for (const page of [L, M]) {
    await panel(page).locator('.ga-out-merged .ga-headline', { hasText: `Went around: ${REPO}#70 was merged` }).waitFor({ timeout: LIVE_WAIT });
    await panel(page).locator('.ga-out-merged', { hasText: 'Lee Lead ordered it at' }).waitFor();
    await panel(page).locator('.ga-out-merged', { hasText: 'Lou Lead confirmed' }).waitFor();
  }
  assert.equal(gh.merges(REPO, 70), 1);
});

test('the arm form offers the rollback PR the plan names; arming it turns the panel green', async (t) => {
  const id = 'ga-plan';
  gh.pr(REPO, 80);
  await must(base, P.lead, 'POST', '/api/migrations', {
    id,
    title: 'Planned rollback',
    owner_team: TEAM,
    rollback: { repo: REPO, pr: 80, merge_method: 'rebase', requires_second_lead: true },
    stages: [{ key: 'takeoff', title: 'Take-off', steps: [{ title: 'Freeze writes' }] }, { key: 'landing', title: 'Landing', steps: [] }],
  });
  await must(base, P.lead, 'POST', `/api/migrations/${id}/start`);
  const L = await open(t, P.lead, id);
  await expectState(L, 'none');
  await panel(L).getByRole('button', { name: 'Arm rollback PR…' }).click();
  const form = L.getByRole('dialog', { name: 'Arm the rollback PR' });
  assert.equal(await form.getByRole('textbox', { name: 'Repository (owner/name)' }).inputValue(), REPO);
  assert.equal(await form.getByRole('textbox', { name: 'Pull request number' }).inputValue(), '80');
  assert.equal(await form.getByRole('combobox', { name: 'Merge method' }).inputValue(), 'rebase');
  assert.equal(await form.getByRole('checkbox', { name: 'A second lead must confirm the go-around' }).isChecked(), true);
  await form.getByRole('button', { name: 'Arm', exact: true }).click();
  await expectState(L, 'armed');
  await panel(L).locator('.ga-facts', { hasText: 'Needsa second lead' }).waitFor();
  const rb = await must(base, P.lead, 'GET', `/api/migrations/${id}/rollback`);
  assert.equal(rb.pr.merge_method, 'rebase');
  assert.equal(rb.requires_second_lead, true);
});
