import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { Gale } from '../../src/client/index.js';
import { LOCAL_BACKEND } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { axeViolations, browserUnavailable, describeViolations, ensureConsoleBuilt, launchChromium, screenshot } from './support.js';

/*
 * The web console in a real browser (Debian's Chromium, through playwright-core) against an in-process Gale with the
 * simulator: sign in, create from a template and watch it reach RUNNING without reloading, stop, serial output,
 * delete, a quota refusal with its error id, an admin's filters and a tenant's view, an admin's users and their keys
 * (the secret shown once), the request allowance. axe-core checks every page, and the main pages are photographed into
 * docs/console/.
 */

const skip = browserUnavailable();
const STATUS_TIMEOUT = 30_000;

describe('web console in Chromium', { skip }, () => {
  let gale: TestGale;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const cspErrors: string[] = [];

  before(async () => {
    ensureConsoleBuilt();
    gale = await startTestGale(LOCAL_BACKEND);
    browser = await launchChromium();
  });

  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await gale?.close();
  });

  async function open(width = 1280): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 }, reducedMotion: 'reduce' });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) cspErrors.push(message.text());
    });
    await page.goto(`${gale.url}/console/`);
    return page;
  }

  async function signInWithKeys(page: Page, user: Credentials): Promise<void> {
    await page.getByLabel('API key', { exact: true }).fill(user.apiKey);
    await page.getByLabel('API secret').fill(user.keyPair['api-secret']);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor();
  }

  async function signInWithToken(page: Page, user: Credentials): Promise<void> {
    await page.getByLabel('Session token').check();
    await page.getByLabel('Token', { exact: true }).fill(user.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor();
  }

  async function assertAccessible(page: Page, where: string): Promise<void> {
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, `axe violations on ${where}:\n${describeViolations(violations)}`);
  }

  const row = (page: Page, id: string) => page.locator(`tr[data-instance="${id}"]`);
  const statusIn = (page: Page, id: string, status: string) => row(page, id).locator(`[data-status="${status}"]`);

  test('a user signs in, creates, watches, stops, reads the console of, and deletes an instance', async () => {
    const user = await gale.user('pro');
    const page = await open();
    await page.getByRole('heading', { name: 'Sign in to Gale' }).waitFor();
    await assertAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await signInWithKeys(page, user);

    // Credentials are in sessionStorage only, never in localStorage or the URL.
    const storage = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, url: location.href }));
    assert.equal(storage.session, 1);
    assert.equal(storage.local, 0);
    assert.ok(!storage.url.includes(user.apiKey), 'no credential in the URL');

    await page.getByRole('button', { name: 'Create instance' }).click();
    await page.getByLabel('Template').selectOption('debian-12-micro');
    await page.getByLabel('Zone').selectOption({ index: 1 });
    const preview = page.getByRole('table', { name: 'Quota this instance will use' });
    await preview.getByRole('row', { name: /Disk/ }).filter({ hasText: '10' }).waitFor();
    await assertAccessible(page, 'create form');
    await screenshot(page, 'create');
    await page.getByRole('button', { name: 'Create', exact: true }).click();

    const created = page.locator('tr[data-instance]').first();
    await created.waitFor();
    const id = (await created.getAttribute('data-instance')) as string;
    assert.match(id, /^tw-/);
    // The row walks to RUNNING from the event stream: no reload, no polling.
    await statusIn(page, id, 'RUNNING').waitFor({ timeout: STATUS_TIMEOUT });
    assert.notEqual((await row(page, id).locator('.addresses').textContent())?.trim(), '—', 'addresses shown once running');
    await assertAccessible(page, 'instances');
    await screenshot(page, 'instances');

    await row(page, id).getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: id }).waitFor();
    const power = page.getByRole('group', { name: 'Power' });
    assert.equal(await power.getByRole('button', { name: /^Start/ }).isDisabled(), true, 'start is disabled while running');
    assert.match((await power.getByRole('button', { name: /^Start/ }).textContent()) ?? '', /unavailable: already RUNNING/);
    await page.getByTestId('serial').filter({ hasText: /\S/ }).filter({ hasNotText: 'No output yet.' }).waitFor({ timeout: STATUS_TIMEOUT });
    await assertAccessible(page, 'instance details');
    await screenshot(page, 'instance');

    await power.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.locator('dd [data-status="TERMINATED"]').waitFor({ timeout: STATUS_TIMEOUT });
    await page.getByRole('cell', { name: 'stop', exact: true }).waitFor();
    assert.equal(await power.getByRole('button', { name: 'Start', exact: true }).isEnabled(), true, 'start is allowed once stopped');

    await page.getByRole('button', { name: 'Delete instance…' }).click();
    const confirm = page.getByRole('button', { name: 'Delete for ever' });
    assert.equal(await confirm.isDisabled(), true, 'delete needs the id typed');
    await page.getByLabel(/Type the instance id/).fill(id);
    await confirm.click();
    await page.getByText('This instance is being deleted.').waitFor();

    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    await page.getByRole('heading', { name: 'Instances' }).waitFor();
    await row(page, id).waitFor({ state: 'detached', timeout: STATUS_TIMEOUT });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Gale' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the credentials');
  });

  test('a quota refusal shows its message and error id; the quotas page follows instances as they come', async () => {
    const user = await gale.user('free');
    const page = await open();
    await signInWithToken(page, user);
    await page.getByRole('link', { name: 'Quotas' }).click();
    await page.getByTestId('quota-instances-text').filter({ hasText: '0 of 1' }).waitFor();

    // One made elsewhere (the API): the quotas page updates from the event stream.
    const api = new Gale({ baseUrl: gale.url, token: user.token });
    await api.instances.create({ templateId: 'debian-12-micro' });
    await page.getByTestId('quota-instances-text').filter({ hasText: '1 of 1' }).waitFor({ timeout: STATUS_TIMEOUT });
    await assertAccessible(page, 'quotas');
    await screenshot(page, 'quotas');

    await page.getByRole('link', { name: 'Instances', exact: true }).click();
    await page.getByRole('button', { name: 'Create instance' }).click();
    await page.getByLabel('Template').selectOption('debian-12-micro');
    await page.getByText('(over quota)').first().waitFor();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.getByText(/quota exceeded: instances 1\/1/).waitFor();
    const errorId = (await alert.getByTestId('error-id').textContent()) ?? '';
    assert.match(errorId, /^[0-9a-f-]{36}$/, 'the refusal shows the error id');
    await assertAccessible(page, 'quota refusal');
    await screenshot(page, 'quota-refusal');
  });

  test("an admin filters another user's instances; a tenant cannot see them", async () => {
    const owner = await gale.user('pro');
    const tenant = await gale.user('pro');
    const admin = await gale.user('pro', { admin: true });
    const owned = await new Gale({ baseUrl: gale.url, token: owner.token }).instances.create({ templateId: 'debian-12-micro' });
    const theirs = await new Gale({ baseUrl: gale.url, token: tenant.token }).instances.create({ templateId: 'debian-12-micro' });

    const adminPage = await open();
    await signInWithToken(adminPage, admin);
    await adminPage.getByRole('link', { name: 'All instances' }).click();
    await adminPage.getByRole('heading', { name: 'All instances' }).waitFor();
    await adminPage.getByLabel('User id').fill(owner.userId);
    await adminPage.getByRole('button', { name: 'Apply filters' }).click();
    await row(adminPage, owned.id).waitFor();
    await row(adminPage, theirs.id).waitFor({ state: 'detached' });
    await adminPage.getByText('1 instance(s), page 1 of 1').waitFor();
    await assertAccessible(adminPage, 'admin');
    await screenshot(adminPage, 'admin');

    const tenantPage = await open(360);
    // Whether the user is an admin is learnt from GET /me: no admin route is tried, so no request of the sign-in fails.
    const failed: string[] = [];
    const onResponse = (response: Response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    };
    tenantPage.on('response', onResponse);
    await signInWithKeys(tenantPage, tenant);
    await row(tenantPage, theirs.id).waitFor();
    tenantPage.off('response', onResponse);
    assert.deepEqual(failed, [], 'a non-admin sign-in makes no failing request');
    assert.equal(await row(tenantPage, owned.id).count(), 0, "another user's instance is not listed");
    assert.equal(await tenantPage.getByRole('link', { name: 'All instances' }).count(), 0, 'no admin view offered');
    await tenantPage.goto(`${gale.url}/console/#/admin`);
    await tenantPage.getByRole('heading', { name: 'Instances' }).waitFor();
    assert.equal(await row(tenantPage, owned.id).count(), 0);
    await tenantPage.goto(`${gale.url}/console/#/instances/${owned.id}`);
    await tenantPage.getByRole('alert').getByText(/not found|no instance/i).waitFor();
    // 360 px wide: nothing wider than the screen but the tables' own scrollers.
    await tenantPage.goto(`${gale.url}/console/#/instances`);
    await row(tenantPage, theirs.id).waitFor();
    assert.ok((await tenantPage.evaluate(() => document.documentElement.scrollWidth)) <= 360, 'fits 360 px');
    await assertAccessible(tenantPage, 'instances at 360 px');
    await screenshot(tenantPage, 'instances-360');
  });

  test('bulk stop and delete of selected instances, sorting and filtering, signed in from the keyboard', async () => {
    const user = await gale.user('pro');
    const api = new Gale({ baseUrl: gale.url, token: user.token });
    const made = [await api.instances.create({ templateId: 'debian-12-micro' }), await api.instances.create({ templateId: 'debian-12-micro' })];
    const page = await open();
    // Keyboard only: the first field has focus after a Tab or two, Enter submits.
    await page.getByLabel('API key', { exact: true }).focus();
    await page.keyboard.type(user.apiKey);
    await page.keyboard.press('Tab');
    await page.keyboard.type(user.keyPair['api-secret']);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Instances' }).waitFor();
    for (const instance of made) await statusIn(page, instance.id, 'RUNNING').waitFor({ timeout: STATUS_TIMEOUT });

    await page.getByLabel('Filter').fill(made[0]!.id);
    assert.equal(await page.locator('tr[data-instance]').count(), 1, 'the filter narrows the rows');
    await page.getByLabel('Filter').fill('');
    await page.getByRole('button', { name: 'Name' }).click();
    const shownIds = () => page.locator('tr[data-instance]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-instance')));
    const byName = made.map((i) => i.id).sort();
    assert.deepEqual(await shownIds(), byName, 'sorted by name');
    assert.equal(await page.getByRole('columnheader', { name: 'Name' }).getAttribute('aria-sort'), 'ascending');
    await page.getByRole('button', { name: 'Name' }).press('Enter');
    assert.deepEqual(await shownIds(), [...byName].reverse(), 'then the other way');

    await page.getByLabel('Select all shown').check();
    await page.getByRole('button', { name: 'Stop selected' }).click();
    for (const instance of made) await statusIn(page, instance.id, 'TERMINATED').waitFor({ timeout: STATUS_TIMEOUT });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByLabel('Select all shown').check();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    for (const instance of made) await row(page, instance.id).waitFor({ state: 'detached', timeout: STATUS_TIMEOUT });
    assert.deepEqual(await api.instances.list(), []);
  });

  /** Signs in with a key pair on the sign-in form and answers the page it ends on (an error stays on the form). */
  async function trySignInWithKeys(page: Page, apiKey: string, apiSecret: string): Promise<void> {
    await page.getByLabel('API key', { exact: true }).fill(apiKey);
    await page.getByLabel('API secret').fill(apiSecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  const pageText = (page: Page) => page.evaluate(() => `${document.documentElement.outerHTML}\n${JSON.stringify({ ...sessionStorage })}\n${JSON.stringify({ ...localStorage })}`);

  test('an admin creates a user, gives them a key (its secret shown once), lists and revokes it; the key then fails', async () => {
    const admin = await gale.user('pro', { admin: true });
    const page = await open();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gale.url });
    await signInWithToken(page, admin);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();

    const email = `console-${Date.now()}@example.com`;
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel(/^Tier \(empty/).fill('free');
    await page.getByLabel('Customer id (optional)').fill('acme');
    await assertAccessible(page, 'create user');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: email }).waitFor();
    assert.equal(await page.getByTestId('user-tier').textContent(), 'free');
    assert.equal(await page.getByTestId('user-customer').textContent(), 'acme');

    await page.getByLabel('New tier').fill('pro');
    await page.getByRole('button', { name: 'Set tier' }).click();
    await page.getByTestId('user-tier').filter({ hasText: 'pro' }).waitFor();
    await page.getByLabel('New customer id').fill('globex');
    await page.getByRole('button', { name: 'Set customer' }).click();
    await page.getByTestId('user-customer').filter({ hasText: 'globex' }).waitFor();
    await page.getByText('No API keys yet.').waitFor();

    // The secret is shown once, in a dialog that says so, with a copy button.
    await page.getByRole('button', { name: 'Create API key' }).click();
    const dialog = page.getByRole('dialog', { name: 'New API key pair' });
    await dialog.waitFor();
    await dialog.getByText('You will not see this again.').waitFor();
    const apiKey = await dialog.getByLabel('API key', { exact: true }).inputValue();
    const apiSecret = await dialog.getByLabel('API secret', { exact: true }).inputValue();
    assert.ok(apiKey.length > 8 && apiSecret.length > 8, 'the key pair is shown');
    await dialog.getByRole('button', { name: 'Copy API secret' }).click();
    await dialog.getByText('API secret copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), apiSecret, 'the copy button copies the secret');
    await assertAccessible(page, 'new key dialog');
    await screenshot(page, 'key-created');
    await dialog.getByRole('button', { name: 'I have copied it, close' }).click();
    await dialog.waitFor({ state: 'detached' });

    // Listed by prefix and dates only: neither the key nor its secret is anywhere in the page or its storage.
    const prefix = apiKey.slice(0, 8);
    const keyRow = page.getByRole('table', { name: 'API keys' }).locator('tr[data-credential]');
    await keyRow.filter({ hasText: `${prefix}…` }).filter({ hasText: 'active' }).waitFor();
    assert.equal(await keyRow.count(), 1);
    let text = await pageText(page);
    assert.ok(!text.includes(apiSecret), 'no secret in the page after the dialog');
    assert.ok(!text.includes(apiKey), 'only the prefix of the key in the page');

    // A session token: the same once-only dialog.
    await page.getByLabel('Lifetime').fill('1h');
    await page.getByRole('button', { name: 'Create token' }).click();
    const tokenDialog = page.getByRole('dialog', { name: 'New session token' });
    const token = await tokenDialog.getByLabel('Token', { exact: true }).inputValue();
    await tokenDialog.press('Escape');
    await tokenDialog.waitFor({ state: 'detached' });
    await page.getByRole('table', { name: 'Session tokens' }).locator('tr[data-credential]').filter({ hasText: `${token.slice(0, 8)}…` }).waitFor();
    assert.ok(!(await pageText(page)).includes(token), 'no token in the page after the dialog');

    // Reloading shows the lists again, never the secrets.
    await page.reload();
    await page.getByRole('heading', { name: email }).waitFor();
    await keyRow.filter({ hasText: `${prefix}…` }).waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0, 'no dialog after a reload');
    text = await pageText(page);
    assert.ok(!text.includes(apiSecret) && !text.includes(apiKey) && !text.includes(token), 'no secret after a reload');
    await assertAccessible(page, 'user and keys');
    await screenshot(page, 'user-keys');

    // The key works until it is revoked, and then does not.
    const userPage = await open();
    await trySignInWithKeys(userPage, apiKey, apiSecret);
    await userPage.getByRole('heading', { name: 'Instances' }).waitFor();

    await keyRow.filter({ hasText: prefix }).getByRole('button', { name: /^Revoke API key/ }).click();
    await keyRow.getByRole('group', { name: /Revoke API key/ }).waitFor();
    await keyRow.getByRole('button', { name: 'Revoke for ever' }).click();
    await keyRow.filter({ hasText: 'revoked' }).waitFor();

    const later = await open();
    await trySignInWithKeys(later, apiKey, apiSecret);
    await later.getByRole('alert').getByText('invalid api-key or api-secret').waitFor();
    assert.equal(await later.getByRole('heading', { name: 'Sign in to Gale' }).count(), 1, 'still on the sign-in page');
  });

  test('an admin lists users a page at a time and filters them by email, tier and customer; a tenant cannot', async () => {
    const admin = await gale.user('pro', { admin: true });
    const api = new Gale({ baseUrl: gale.url, token: admin.token });
    const customer = `paged-${Date.now()}`;
    const emails: string[] = [];
    for (let i = 0; i < 21; i++) {
      const user = await api.admin.users.create({ email: `${customer}-${i}@example.com`, tier: i === 0 ? 'enterprise' : 'free', customerId: customer });
      emails.push(user.email);
    }
    const page = await open();
    await signInWithToken(page, admin);
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByLabel('Customer id', { exact: true }).fill(customer);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('20 user(s) on page 1, more on the next').waitFor();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('1 user(s) on page 2').waitFor();
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('20 user(s) on page 1, more on the next').waitFor();

    await page.getByLabel('Tier', { exact: true }).fill('enterprise');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('1 user(s) on page 1').waitFor();
    await page.getByRole('link', { name: emails[0] }).waitFor();
    await page.getByLabel('Tier', { exact: true }).fill('');
    await page.getByLabel('Customer id', { exact: true }).fill('');
    await page.getByLabel('Email', { exact: true }).fill(emails[5]!);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('1 user(s) on page 1').waitFor();
    await page.getByRole('link', { name: emails[5] }).waitFor();
    await page.getByLabel('Customer id', { exact: true }).fill(customer);
    await page.getByLabel('Email', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('20 user(s) on page 1, more on the next').waitFor();
    await assertAccessible(page, 'users');
    await screenshot(page, 'users');

    const tenant = await gale.user('pro');
    const tenantPage = await open();
    await signInWithToken(tenantPage, tenant);
    assert.equal(await tenantPage.getByRole('link', { name: 'Users', exact: true }).count(), 0, 'no users link for a tenant');
    await tenantPage.goto(`${gale.url}/console/#/users/${admin.userId}`);
    await tenantPage.getByRole('heading', { name: 'Instances' }).waitFor();
    await assert.rejects(new Gale({ baseUrl: gale.url, token: tenant.token }).admin.users.list(), (e: unknown) => (e as { status?: number }).status === 403);
  });

  test('the quotas page shows the request allowance left, and it goes down as requests are made', async () => {
    const user = await gale.user('pro');
    const page = await open();
    await signInWithToken(page, user);
    await page.getByRole('link', { name: 'Quotas' }).click();
    const allowance = page.getByTestId('quota-requests-left-this-minute-text');
    await allowance.filter({ hasText: / of 600$/ }).waitFor();
    const left = async () => Number(/^(\d+) of/.exec((await allowance.textContent()) ?? '')?.[1]);
    const before = await left();
    assert.ok(before > 0 && before < 600, `some of the allowance is spent signing in (${before} left)`);
    assert.match((await page.getByTestId('allowance-reset').textContent()) ?? '', /Whole again in \d+ s/);

    const api = new Gale({ baseUrl: gale.url, token: user.token });
    for (let i = 0; i < 5; i++) await api.quotas();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await allowance.filter({ hasNotText: `${before} of 600` }).waitFor();
    const after = await left();
    assert.ok(after <= before - 6, `the allowance went down by the 5 requests and the refresh: ${before} -> ${after}`);
    await assertAccessible(page, 'quotas with the allowance');
  });

  test('the page ran under its CSP without a violation', () => {
    assert.deepEqual(cspErrors, []);
  });
});
