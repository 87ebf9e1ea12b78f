// Browser tests of the daxd web console: Debian's headless Chromium driven
// by playwright-core. tests/e2e/test_console.py starts the real daxd,
// prepares the state with boto3 and runs this file with node's test runner;
// the tests run in order and share that daxd. Every page visited is saved
// as a screenshot under $ARTIFACTS.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k} (run through tests/e2e/test_console.py)`);
  return v;
};
const CONSOLE = env('CONSOLE_URL');
const ART = env('ARTIFACTS');
const ACCOUNT = env('ACCOUNT');
const ROLE_ARN = env('ROLE_ARN');
const SLR = 'AWSServiceRoleForDAX';
fs.mkdirSync(ART, { recursive: true });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const dirs = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

// axe-core (pinned in package.json), evaluated in the page through the
// driver, so the console's Content-Security-Policy needs no exception.
const AXE = fs.readFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core's findings on the page at the serious and critical levels (none expected). */
async function axeCheck(page, name) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  });
  assert.deepEqual(found, [], `axe-core on ${name}`);
}

/** The page is no wider than the window: nothing pushes it sideways. */
async function noOverflow(page, name) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${name}: the page is ${scroll} px wide in a ${width} px window`);
}

let shot = 0;
/** A screenshot of the page, after checking it with axe-core. */
async function snap(page, name) {
  shot += 1;
  await axeCheck(page, name);
  const file = path.join(ART, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/** A fresh Chromium (its own --user-data-dir, so its own cookie jar) for one test. */
async function browse(name, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daxd-console-chromium-'));
  dirs.push(dir);
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ARGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A refused form comes back as a page (200): the browser logs no error for it.
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  // The console needs no network beyond daxd: refuse anything else.
  await ctx.route('**/*', (route) => (route.request().url().startsWith(new URL(CONSOLE).origin) ? route.continue() : route.abort()));
  try {
    await fn(page);
    assert.deepEqual(errors, [], 'no script errors');
  } catch (e) {
    await page.screenshot({ path: path.join(ART, `FAILED-${name}.png`), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await ctx.close();
  }
}

const nav = (page, name) => page.getByRole('navigation', { name: 'Services' }).getByRole('link', { name, exact: true });
const main = (page) => page.locator('main');
const mainText = async (page) => (await main(page).innerText());
/** Wait until the page's main content (refreshed by the console's script) contains `text`. */
async function waitForText(page, text, timeout = 20000) {
  await page.waitForFunction((t) => document.querySelector('main')?.innerText.includes(t), text, { timeout });
}

async function signInWithPassword(page, user, password) {
  await page.goto(`${CONSOLE}/`);
  await page.getByLabel('Account ID').fill(ACCOUNT);
  await page.getByLabel('IAM user name').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in as IAM user' }).click();
  await page.getByRole('heading', { name: 'Console home' }).waitFor();
}

const admin = (page) => signInWithPassword(page, env('ADMIN_USER'), env('ADMIN_PASSWORD'));

test('sign in as the root with the root key pair, and sign out', async () => {
  await browse('root-signin', async (page) => {
    await page.goto(`${CONSOLE}/iam/roles`);
    assert.match(page.url(), /\/console\/signin\?next=/, 'an anonymous visitor is sent to sign in');
    await page.getByRole('heading', { name: 'Sign in to the daxd console' }).waitFor();
    await snap(page, 'signin');
    // Wrong secret: one message for every failure.
    await page.getByLabel('Root access key ID').fill(env('ROOT_KEY'));
    await page.getByLabel('Root secret access key').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in as root user' }).click();
    await page.getByText('Your authentication information is incorrect. Please try again.').waitFor();
    await page.getByLabel('Root access key ID').fill(env('ROOT_KEY'));
    await page.getByLabel('Root secret access key').fill(env('ROOT_SECRET'));
    await page.getByRole('button', { name: 'Sign in as root user' }).click();
    // Back where it was going.
    await page.getByRole('heading', { name: 'Roles' }).waitFor();
    assert.match(await page.locator('header').innerText(), /Signed in as root/);
    const cookies = await page.context().cookies();
    const c = cookies.find((k) => k.name === 'daxd_console');
    assert.ok(c && c.httpOnly && c.sameSite === 'Strict' && c.path === '/console', JSON.stringify(c));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    await page.goto(`${CONSOLE}/iam/roles`);
    assert.match(page.url(), /\/signin/, 'the session is gone');
  });
});

test('a user without permissions sees the denial, not the data', async () => {
  await browse('denied', async (page) => {
    await signInWithPassword(page, env('VIEWER_USER'), env('VIEWER_PASSWORD'));
    await nav(page, 'Roles').click();
    await page.getByRole('alert').filter({ hasText: 'Access denied' }).waitFor();
    const text = await mainText(page);
    assert.match(text, new RegExp(`User: arn:aws:iam::${ACCOUNT}:user/${env('VIEWER_USER')} is not authorized to perform: iam:ListRoles`));
    assert.doesNotMatch(text, /DAXtoDynamoDB|AWSServiceRoleForDAX/);
    await snap(page, 'denied-roles');
    await nav(page, 'Clusters').click();
    await page.getByRole('alert').filter({ hasText: 'dax:DescribeClusters' }).waitFor();
    assert.doesNotMatch(await mainText(page), /console-a/);
    await snap(page, 'denied-clusters');
    // A direct link to the role is no way around it.
    await page.goto(`${CONSOLE}/iam/roles/${SLR}`);
    await page.getByRole('alert').filter({ hasText: 'iam:GetRole' }).waitFor();
    const denied = await mainText(page);
    for (const data of ['Creation date', 'Maximum session duration', 'Role ID', 'Permissions', 'Access Advisor']) {
      assert.ok(!denied.includes(data), `no ${data} for a denied GetRole`);
    }
    // The create form: every list the user may not read is treated alike, and said.
    await page.goto(`${CONSOLE}/dax/clusters/create?region=us-east-1`);
    const form = await mainText(page);
    for (const [what, action] of [['subnet groups', 'dax:DescribeSubnetGroups'], ['parameter groups', 'dax:DescribeParameterGroups'],
      ['security groups', 'ec2:DescribeSecurityGroups'], ['roles', 'iam:ListRoles']]) {
      assert.match(form, new RegExp(action), `the denial of ${action} shows`);
      assert.match(form, new RegExp(`You may not list ${what}`), `the form says what listing ${what} being denied means`);
    }
    await snap(page, 'denied-create-cluster');
  });
});

test('users: create, console password (AWS password rules), access keys, sign-in with a key pair', async () => {
  let keyId; let secret;
  await browse('users', async (page) => {
    await admin(page);
    await nav(page, 'Users').click();
    await page.locator('summary', { hasText: 'Create user' }).click();
    await page.getByLabel('User name').fill('carol');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { name: 'User carol' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create console password' }).click();
    await page.getByText('PasswordPolicyViolation: Password should have a minimum length of 8').waitFor();
    await page.getByLabel('Password', { exact: true }).fill('Carol-Secret-9');
    await page.getByRole('button', { name: 'Create console password' }).click();
    await page.getByText('Console password created.').waitFor();
    await page.getByRole('button', { name: 'Create access key' }).click();
    await page.getByRole('heading', { name: 'Access key created' }).waitFor();
    keyId = await page.getByRole('textbox', { name: 'Access key ID' }).inputValue();
    secret = await page.getByRole('textbox', { name: 'Secret access key' }).inputValue();
    assert.match(keyId, /^AKIA/);
    assert.equal(secret.length, 40);
    await snap(page, 'access-key-created');
    await page.getByRole('link', { name: 'Back to user carol' }).click();
    assert.match(await mainText(page), new RegExp(keyId));
    await snap(page, 'user');
  });
  await browse('key-signin', async (page) => {
    await page.goto(`${CONSOLE}/signin`);
    await page.getByLabel('Access key ID', { exact: true }).fill(keyId);
    await page.getByLabel('Secret access key', { exact: true }).fill(secret);
    await page.getByRole('button', { name: 'Sign in with access key' }).click();
    await page.getByRole('heading', { name: 'Console home' }).waitFor();
    assert.match(await page.locator('header').innerText(), /Signed in as carol/);
  });
  await browse('password-signin', async (page) => {
    await signInWithPassword(page, 'carol', 'Carol-Secret-9');
    await nav(page, 'Users').click();
    await page.getByRole('alert').filter({ hasText: 'iam:ListUsers' }).waitFor();
  });
});

test('policies: list, search, view the document', async () => {
  await browse('policies', async (page) => {
    await admin(page);
    await nav(page, 'Policies').click();
    await page.getByLabel('Search policies').fill('DAXServiceRole');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'DAXServiceRolePolicy' }).click();
    await page.getByRole('heading', { name: 'Policy DAXServiceRolePolicy' }).waitFor();
    const doc = await page.getByRole('figure', { name: 'Policy document' }).innerText();
    assert.match(doc, /ec2:CreateNetworkInterface/);
    await snap(page, 'policy');
  });
});

test('DynamoDB tables: create, put / edit / query / delete items, delete the table', async () => {
  await browse('tables', async (page) => {
    await admin(page);
    await nav(page, 'Tables').click();
    await page.locator('summary', { hasText: 'Create table' }).click();
    await page.getByLabel('Table name').fill('console-items');
    await page.getByLabel('Partition key name').fill('id');
    await page.getByRole('button', { name: 'Create table' }).click();
    await page.getByText('Creating table console-items.').waitFor();
    await page.getByRole('link', { name: 'console-items', exact: true }).click();
    await page.getByRole('heading', { name: 'Table console-items' }).waitFor();
    await page.getByRole('link', { name: 'Create item' }).click();
    await page.getByRole('heading', { name: 'New item in console-items' }).waitFor();
    await page.getByLabel('Item (DynamoDB JSON)').fill('{"id": {"S": "a1"}, "qty": {"N": "3"}');
    const refused = page.waitForResponse((resp) => resp.request().method() === 'POST' && resp.url().includes('/item'));
    await page.getByRole('button', { name: 'Save item' }).click();
    assert.equal((await refused).status(), 200, 'a refused form is a page, not a 400');
    await page.getByText(/Not valid JSON/).waitFor();
    await page.getByLabel('Item (DynamoDB JSON)').fill('{"id": {"S": "a1"}, "qty": {"N": "3"}}');
    await page.getByRole('button', { name: 'Save item' }).click();
    await page.getByText('Item saved.').waitFor();
    await page.getByRole('cell', { name: 'a1', exact: true }).waitFor();
    // Each item's links are named after its key.
    await page.getByRole('link', { name: 'Edit item id = a1' }).click();
    await page.getByRole('heading', { name: 'Item id = a1 in console-items' }).waitFor();
    const text = await page.getByLabel('Item (DynamoDB JSON)').inputValue();
    assert.match(text, /"a1"/);
    await page.getByLabel('Item (DynamoDB JSON)').fill(text.replace('"3"', '"4"'));
    await page.getByRole('button', { name: 'Save item' }).click();
    await page.getByRole('cell', { name: '4', exact: true }).waitFor();
    await snap(page, 'table-scan');
    await page.getByRole('link', { name: 'Query', exact: true }).click();
    await page.getByLabel('id (partition key)').fill('a1');
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.getByText('Query result: 1 item', { exact: true }).waitFor();
    await snap(page, 'table-query');
    await page.getByRole('link', { name: 'Delete item id = a1' }).click();
    const dlg = page.getByRole('dialog', { name: 'Delete item' });
    await dlg.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Item deleted.').waitFor();
    await page.getByText('No items.').waitFor();
    await nav(page, 'Tables').click();
    await page.getByRole('link', { name: 'Delete table console-items' }).click();
    await page.getByRole('dialog', { name: 'Delete table' }).getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Deleting table console-items.').waitFor();
  });
});

test('DAX parameter groups (TTL editing), subnet groups and events', async () => {
  await browse('groups', async (page) => {
    await admin(page);
    await nav(page, 'Parameter groups').click();
    await page.locator('summary', { hasText: 'Create parameter group' }).click();
    await page.getByLabel('Parameter group name').fill('console-ttl');
    await page.getByRole('button', { name: 'Create parameter group' }).click();
    await page.getByRole('link', { name: 'console-ttl' }).click();
    await page.getByLabel('Item cache TTL (record-ttl-millis)').fill('60000');
    await page.getByLabel('Query cache TTL (query-ttl-millis)').fill('30000');
    await page.getByRole('button', { name: 'Save TTLs' }).click();
    await page.getByText(/TTLs saved/).waitFor();
    assert.match(await page.getByRole('row', { name: /record-ttl-millis/ }).innerText(), /60000/);
    await snap(page, 'parameter-group');
    await nav(page, 'Subnet groups').click();
    await page.locator('summary', { hasText: 'Create subnet group' }).click();
    await page.getByLabel('Subnet group name').fill('console-net');
    await page.locator('input[name="subnets"]').first().check();
    await page.getByRole('button', { name: 'Create subnet group' }).click();
    await page.getByText('Subnet group console-net created.').waitFor();
    await page.getByRole('rowheader', { name: 'console-net' }).waitFor();
    await snap(page, 'subnet-groups');
    await nav(page, 'Events').click();
    await page.getByRole('cell', { name: 'console-a', exact: true }).first().waitFor();
    await snap(page, 'events');
  });
});

test('the create-cluster form shows the API validation errors next to the fields', async () => {
  await browse('create-cluster', async (page) => {
    await admin(page);
    await nav(page, 'Clusters').click();
    await page.getByRole('link', { name: 'Create cluster' }).click();
    await page.getByLabel('Cluster name').fill('console-new');
    await page.getByLabel('Replication factor (number of nodes)').fill('0');
    // A role picker: roles by name, their ARNs sent.
    const picker = page.getByLabel('IAM role', { exact: true });
    assert.equal(await picker.evaluate((el) => el.tagName), 'SELECT');
    await picker.selectOption({ label: 'DAXtoDynamoDB' });
    assert.equal(await picker.inputValue(), ROLE_ARN);
    const refused = page.waitForResponse((resp) => resp.request().method() === 'POST' && resp.url().includes('/dax/clusters/create'));
    await page.getByRole('button', { name: 'Create cluster' }).click();
    assert.equal((await refused).status(), 200, 'a refused form is a page, not a 400');
    const rf = page.locator('#replication-error');
    await rf.waitFor();
    // In words a person reads, with the API's code and message for reference.
    assert.match(await rf.innerText(), /Enter the number of nodes: a whole number from 1 to 10/);
    assert.match(await rf.innerText(), /InvalidParameterValueException: ReplicationFactor must be at least 1/);
    assert.equal(await picker.inputValue(), ROLE_ARN, 'the chosen role is kept');
    assert.equal(await page.getByLabel('Replication factor (number of nodes)').getAttribute('aria-invalid'), 'true');
    await snap(page, 'create-cluster-error');
    await page.getByLabel('Replication factor (number of nodes)').fill('1');
    await page.getByLabel('Cluster name').fill('bad--name');
    await page.getByRole('button', { name: 'Create cluster' }).click();
    await page.locator('#name-error').filter({ hasText: 'Cluster ID specified is not a valid identifier' }).waitFor();
    assert.match(await page.locator('#name-error').innerText(), /starting with a letter/);
    await page.getByLabel('Cluster name').fill('console-new');
    await picker.selectOption({ label: 'Choose a role' });
    await page.getByRole('button', { name: 'Create cluster' }).click();
    const roleError = page.locator('#role-error');
    await roleError.waitFor();
    assert.match(await roleError.innerText(), /Choose a role/);
    assert.match(await roleError.innerText(), /The API's answer: \w+/);
    assert.equal(await picker.getAttribute('aria-invalid'), 'true');
  });
});

test('seed: IAM → Roles → AWSServiceRoleForDAX → Access Advisor shows ec2 activity', async () => {
  await browse('access-advisor', async (page) => {
    await admin(page);
    await nav(page, 'Roles').click();
    await snap(page, 'roles');
    await page.getByLabel('Search roles').fill('ServiceRoleFor');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: SLR }).click();
    await page.getByRole('heading', { name: `Role ${SLR}` }).waitFor();
    const banner = await page.getByRole('status').filter({ hasText: 'service-linked role' }).innerText();
    assert.match(banner, /linked to the service dax\.amazonaws\.com/);
    const summary = await page.locator('dl.summary').innerText();
    for (const label of ['ARN', 'Path', 'Description', 'Creation date', 'Last activity', 'Maximum session duration']) {
      assert.match(summary, new RegExp(label));
    }
    await snap(page, 'role-summary');
    // The description is the one thing that can be edited.
    await page.getByRole('link', { name: 'Edit description' }).click();
    await page.getByLabel('Description', { exact: true }).fill('Used by DAX (edited in the console)');
    await page.getByRole('button', { name: 'Save description' }).click();
    await page.getByText('Description saved.').waitFor();
    assert.match(await page.locator('dl.summary').innerText(), /edited in the console/);
    await page.getByRole('link', { name: 'Permissions' }).click();
    assert.match(await page.getByRole('figure', { name: 'Document of DAXServiceRolePolicy' }).innerText(), /ec2:AuthorizeSecurityGroupIngress/);
    assert.equal(await page.getByRole('button', { name: 'Detach' }).count(), 0, 'no edits of a service-linked role');
    await snap(page, 'role-permissions');
    await page.getByRole('link', { name: 'Trust relationships' }).click();
    assert.match(await page.getByRole('figure', { name: 'Trust policy' }).innerText(), /dax\.amazonaws\.com/);
    assert.equal(await page.getByRole('link', { name: 'Edit trust policy' }).count(), 0);
    await page.getByRole('link', { name: 'Tags' }).click();
    assert.equal(await page.getByRole('button', { name: 'Add tag' }).count(), 0);
    // The seed's step: the Access Advisor tab.
    await page.getByRole('link', { name: 'Access Advisor' }).click();
    const ec2 = page.getByRole('row', { name: /Amazon EC2/ });
    await ec2.waitFor();
    const row = await ec2.innerText();
    assert.doesNotMatch(row, /Not accessed/);
    assert.match(row, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    assert.match(row, /us-east-1|eu-west-1/);
    assert.match(row, new RegExp(`${SLR} \\(role\\)`));
    assert.match(row, /CreateNetworkInterface/);
    await snap(page, 'access-advisor');
  });
});

test('a read-only user sees the actions it may not take, marked, with the reason on hover', async () => {
  await browse('read-only', async (page) => {
    await signInWithPassword(page, env('READER_USER'), env('READER_PASSWORD'));
    await nav(page, 'Tables').click();
    const delTable = page.getByRole('link', { name: 'Delete table console-cache' });
    assert.equal(await delTable.getAttribute('aria-disabled'), 'true');
    assert.match(await delTable.getAttribute('title'), /Not permitted: .*dynamodb:DeleteTable/);
    assert.equal(await delTable.getAttribute('href'), null, 'no way to follow it');
    await delTable.hover();
    await snap(page, 'read-only-tables');
    await page.getByRole('link', { name: 'console-cache', exact: true }).click();
    const edit = page.getByRole('link', { name: 'Edit item id = k0' });
    assert.equal(await edit.getAttribute('aria-disabled'), 'true');
    assert.match(await edit.getAttribute('title'), /dynamodb:PutItem/);
    assert.match(await page.getByRole('link', { name: 'Delete item id = k0' }).getAttribute('title'), /dynamodb:DeleteItem/);
    assert.equal(await page.getByRole('link', { name: 'Create item' }).getAttribute('aria-disabled'), 'true');
    await snap(page, 'read-only-items');
    await page.goto(`${CONSOLE}/iam/roles/${SLR}`);
    const del = page.getByRole('link', { name: 'Delete', exact: true });
    assert.equal(await del.getAttribute('aria-disabled'), 'true');
    assert.match(await del.getAttribute('title'), /iam:DeleteServiceLinkedRole/);
    const editDescription = page.getByRole('link', { name: 'Edit description' });
    assert.equal(await editDescription.getAttribute('aria-disabled'), 'true');
    assert.match(await editDescription.getAttribute('title'), /iam:UpdateRoleDescription/);
    await snap(page, 'read-only-role');
    // DAX: Actions → Delete, on the list and on the cluster page.
    const markedDelete = async () => {
      await page.getByRole('button', { name: 'Actions' }).click();
      const d = page.locator('#cluster-actions').getByRole('link', { name: 'Delete', exact: true });
      assert.equal(await d.getAttribute('aria-disabled'), 'true');
      assert.match(await d.getAttribute('title'), /Not permitted: .*dax:DeleteCluster/);
      assert.equal(await page.locator('#cluster-actions').getByRole('button', { name: 'Delete' }).count(), 0);
    };
    await page.goto(`${CONSOLE}/dax/clusters?region=us-east-1`);
    await markedDelete();
    await page.goto(`${CONSOLE}/dax/clusters/console-a?region=us-east-1`);
    await markedDelete();
    await snap(page, 'read-only-cluster');
    // Users: Create user, and on a user's page Delete user, the password and access key actions.
    await nav(page, 'Users').click();
    assert.match(await page.getByRole('link', { name: 'Create user' }).getAttribute('title'), /iam:CreateUser/);
    await page.goto(`${CONSOLE}/iam/users/${env('ADMIN_USER')}`);
    for (const [name, action] of [['Delete user', 'iam:DeleteUser'], ['Change password', 'iam:UpdateLoginProfile'],
      ['Remove console password', 'iam:DeleteLoginProfile'], ['Create access key', 'iam:CreateAccessKey']]) {
      const l = page.getByRole('link', { name, exact: true });
      assert.equal(await l.getAttribute('aria-disabled'), 'true', name);
      assert.match(await l.getAttribute('title'), new RegExp(`Not permitted: .*${action}`), name);
    }
    assert.equal(await page.getByRole('button', { name: 'Create access key' }).count(), 0);
    await snap(page, 'read-only-user');
    // Alarms: the list is readable, Create alarm is marked.
    await page.goto(`${CONSOLE}/dax/alarms?region=us-east-1`);
    await page.getByRole('table', { name: 'Alarms in us-east-1' }).waitFor();
    assert.match(await page.getByRole('link', { name: 'Create alarm' }).getAttribute('title'), /cloudwatch:PutMetricAlarm/);
    assert.equal(await page.getByLabel('Alarm name').count(), 0, 'no form to fill in');
    await snap(page, 'read-only-alarms');
  });
  // The administrator's are plain links and buttons.
  await browse('admin-rights', async (page) => {
    await admin(page);
    await nav(page, 'Tables').click();
    assert.equal(await page.getByRole('link', { name: 'Delete table console-cache' }).getAttribute('aria-disabled'), null);
    await page.goto(`${CONSOLE}/iam/users/${env('READER_USER')}`);
    assert.equal(await page.getByRole('link', { name: 'Delete user' }).getAttribute('aria-disabled'), null);
    assert.equal(await page.getByRole('button', { name: 'Create access key' }).count(), 1);
  });
});

test('the cluster page: nodes with endpoints, events, cache hits and misses', async () => {
  await browse('cluster-page', async (page) => {
    await admin(page);
    await nav(page, 'Clusters').click();
    await page.getByRole('link', { name: 'console-a', exact: true }).click();
    await page.getByRole('heading', { name: 'Cluster console-a' }).waitFor();
    const nodes = page.getByRole('table', { name: 'Nodes of the cluster' });
    assert.equal(await nodes.getByRole('row').count(), 3, 'a header and two nodes');
    const endpoint = await page.getByRole('textbox', { name: 'Endpoint of console-a-a' }).inputValue();
    assert.match(endpoint, /^dax:\/\/127\.0\.0\.1:\d+$/);
    assert.match(await page.getByRole('table', { name: /Events of the cluster/ }).innerText(), /console-a/);
    // The chart fills in as the sampler runs (the script refreshes it).
    await page.locator('#cache-chart svg[role="img"]').waitFor({ timeout: 20000 });
    const desc = await page.locator('#cache-chart desc').textContent();
    // The fixture read 3 keys 4 times each through a two-node cluster: every key
    // misses at most once on each node, so at least 3 misses and 6 hits show.
    const [, hits, misses] = desc.match(/(\d+) hits and (\d+) misses in all/) || [];
    assert.ok(Number(hits) >= 6 && Number(misses) >= 3, `the chart shows the fixture's traffic: ${desc}`);
    // Stored samples at once, on readable axes: gridlines, five y ticks, time labels, units, a read-out on hover.
    const chart = page.locator('#cache-chart svg');
    assert.ok(await chart.locator('line.grid').count() >= 7, 'gridlines');
    assert.equal(await chart.locator('text.tick').filter({ hasText: /^\d+$/ }).count(), 5, 'five y-axis ticks');
    assert.ok(await chart.locator('text.tick').filter({ hasText: /^\d\d:\d\d/ }).count() >= 3, 'time labels');
    assert.match(await page.locator('#cache-chart figcaption').innerText(), /per \d+-second interval/);
    assert.doesNotMatch(desc, /\b1 intervals\b/);
    const readout = await chart.locator('rect.band title').allTextContents();
    assert.ok(readout.some((r) => /UTC: [1-9]\d* hits?, \d+ miss(es)?$/.test(r)), `a read-out per interval: ${readout.slice(0, 3)}`);
    assert.match(await page.getByRole('table', { name: /Cache counters/ }).innerText(), /Item cache/);
    await snap(page, 'cluster');
  });
});

/** Identifiers and dates in tables stay on one line (they scroll with their table instead). */
async function unwrapped(page, name) {
  const wrapped = await page.evaluate(() => {
    const out = [];
    for (const cell of document.querySelectorAll('main td, main th')) {
      const text = cell.innerText.trim();
      if (!text || text.length > 80 || cell.querySelector('ul, table, input, textarea')) continue;
      const identifier = !/\s/.test(text) || /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(text);
      if (!identifier) continue;
      const range = document.createRange();
      range.selectNodeContents(cell);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) out.push(text);
    }
    return out;
  });
  assert.deepEqual(wrapped, [], `${name}: identifiers wrapped`);
}

/** Read-only identifier boxes show their whole value when there is room. */
async function untruncated(page, name) {
  const cut = await page.evaluate(() => [...document.querySelectorAll('main .copy textarea')]
    .filter((i) => i.scrollWidth > i.clientWidth + 1 || i.scrollHeight > i.clientHeight + 1).map((i) => i.value));
  assert.deepEqual(cut, [], `${name}: identifiers cut off`);
}

test('layout at 390, 1024 and 1440 px: no overflow, no wrapped or cut identifier, checked by axe', async () => {
  await browse('layout', async (page) => {
    await admin(page);
    const pages = [
      ['clusters', '/dax/clusters?region=us-east-1'],
      ['cluster', '/dax/clusters/console-a?region=us-east-1'],
      ['create-cluster', '/dax/clusters/create?region=us-east-1'],
      ['roles', '/iam/roles'],
      ['role', `/iam/roles/${SLR}`],
      ['access-advisor', `/iam/roles/${SLR}?tab=advisor`],
      ['users', '/iam/users'],
      ['tables', '/dynamodb/tables?region=us-east-1'],
      ['table', '/dynamodb/tables/console-cache?region=us-east-1&mode=scan&run=1'],
      ['events', '/dax/events?region=us-east-1'],
      ['cluster-metrics', '/dax/clusters/console-a?region=us-east-1&tab=metrics&metric=ItemCacheHits&range=3h'],
      ['alarms', '/dax/alarms?region=us-east-1'],
      ['resilience', '/resilience?region=us-east-1'],
      ['fis-template', `/resilience/templates/${env('FIS_TEMPLATE_ID')}?region=us-east-1`],
      ['user', `/iam/users/${env('ADMIN_USER')}`],
    ];
    for (const width of [390, 1024, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      for (const [name, url] of pages) {
        await page.goto(`${CONSOLE}${url}`);
        await page.locator('main h1').waitFor();
        const label = `${name} at ${width} px`;
        await noOverflow(page, label);
        await unwrapped(page, label);
        await untruncated(page, label);
        await snap(page, `w${width}-${name}`);
      }
    }
  });
});

test('CloudWatch: the Metrics tab charts a metric per cluster and per node; alarms are created and deleted', async () => {
  await browse('cloudwatch', async (page) => {
    await admin(page);
    await page.goto(`${CONSOLE}/dax/clusters/console-a?region=us-east-1`);
    await page.getByRole('navigation', { name: 'Cluster details' }).getByRole('link', { name: 'Metrics' }).click();
    await page.getByRole('heading', { name: 'Metrics', exact: true }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Metrics' }).getAttribute('aria-current'), 'page');
    // Every range of the console, and every node of the cluster.
    assert.deepEqual(await page.getByLabel('Time range').locator('option').allTextContents(),
      ['1 hour', '3 hours', '12 hours', '1 day', '1 week']);
    assert.deepEqual(await page.getByLabel('Cluster or node').locator('option').allTextContents(),
      ['Whole cluster', 'Node console-a-a', 'Node console-a-b']);
    // The fixture's 12 GetItem requests are recorded for the minute they were sent, once
    // that minute has ended (daxd's clock): by now it usually has; else wait for it.
    const show = async (metric, range, node) => {
      await page.getByLabel('Metric', { exact: true }).selectOption(metric);
      await page.getByLabel('Time range').selectOption({ label: range });
      await page.getByLabel('Cluster or node').selectOption({ label: node });
      await page.getByRole('button', { name: 'Show' }).click();
      await page.getByRole('heading', { name: 'Metrics', exact: true }).waitFor();
      return page.locator('#metrics desc').textContent();
    };
    let desc = await show('GetItemRequestCount', '3 hours', 'Whole cluster');
    for (let i = 0; i < 40 && /No datapoints/.test(desc); i += 1) {
      await page.waitForTimeout(2000);
      await page.reload();
      desc = await page.locator('#metrics desc').textContent();
    }
    assert.match(await page.locator('#metrics svg title').first().textContent(), /GetItemRequestCount of cluster console-a, last 3 hours/);
    const sum = (d) => Number((d.match(/\(sum (\d+(?:\.\d+)?)\)/) || [])[1]);
    assert.equal(sum(desc), 12, `the cluster's GetItem requests: ${desc}`);
    assert.ok(await page.locator('#metrics svg circle title').count() >= 1, 'a read-out per datapoint');
    assert.ok(await page.locator('#metrics svg line.grid').count() >= 7, 'gridlines');
    await snap(page, 'metrics-cluster');
    // Per node: the two nodes' requests add up to the cluster's.
    const a = sum(await show('GetItemRequestCount', '1 day', 'Node console-a-a'));
    assert.match(await page.locator('#metrics svg title').first().textContent(), /of node console-a-a, last 1 day/);
    await snap(page, 'metrics-node');
    const b = sum(await show('GetItemRequestCount', '1 week', 'Node console-a-b'));
    assert.equal((a || 0) + (b || 0), 12, `per node: ${a} + ${b}`);
    // A metric without datapoints still draws its axes and says so.
    desc = await show('ThrottledRequestCount', '1 hour', 'Whole cluster');
    assert.match(desc, /No datapoints/);
    assert.equal(await page.locator('#metrics svg text.empty').textContent(), 'No datapoints in this period.');

    // Alarms: create one on a DAX metric, see its state, delete it.
    await page.getByRole('navigation', { name: 'Services' }).getByRole('link', { name: 'Alarms' }).click();
    await page.getByRole('heading', { name: 'Alarms' }).waitFor();
    await page.getByText('No alarms in this region.').waitFor();
    await page.getByLabel('Alarm name').fill('console-throttled');
    await page.getByLabel('Metric').selectOption('ThrottledRequestCount');
    await page.getByLabel('Cluster', { exact: true }).selectOption('console-a');
    await page.getByLabel('Condition').selectOption('GreaterThanThreshold');
    await page.getByLabel('Threshold').fill('0');
    await page.getByRole('button', { name: 'Create alarm' }).click();
    await page.getByRole('status').filter({ hasText: 'Alarm console-throttled created.' }).waitFor();
    const row = page.locator('tr[data-alarm="console-throttled"]');
    assert.match(await row.innerText(), /(INSUFFICIENT_DATA|OK|ALARM)/);
    assert.match(await row.innerText(), /ThrottledRequestCount/);
    assert.match(await row.innerText(), /ClusterId=console-a/);
    await snap(page, 'alarms');
    // A refused alarm says why, in AWS's words.
    await page.getByLabel('Alarm name').fill('console-bad');
    await page.getByLabel('Threshold').fill('0');
    await page.getByLabel('Evaluation periods').fill('0');
    await page.getByRole('button', { name: 'Create alarm' }).click();
    await page.getByRole('alert').filter({ hasText: /EvaluationPeriods|evaluationPeriods/ }).waitFor();
    assert.equal(await page.locator('tr[data-alarm="console-bad"]').count(), 0);
    assert.equal(await page.getByLabel('Alarm name').inputValue(), 'console-bad', 'the form as it was filled in');
    assert.equal(await page.getByLabel('Evaluation periods').inputValue(), '0');
    await row.getByRole('link', { name: 'Delete alarm console-throttled' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete alarm' });
    await dialog.waitFor();
    await snap(page, 'alarm-delete-dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Alarm console-throttled deleted.' }).waitFor();
    assert.equal(await row.count(), 0);
    await page.getByText('No alarms in this region.').waitFor();
  });
});

/** Whether a TCP connection to 127.0.0.1:`port` is accepted. */
function accepts(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(2000);
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => { sock.destroy(); resolve(false); });
  });
}

async function until(what, check, timeout = 20000) {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('Resilience: the template is listed, started, its stop-node action runs, Stop ends it', async () => {
  const tid = env('FIS_TEMPLATE_ID');
  const port = Number(env('FIS_NODE_PORT'));
  await browse('resilience', async (page) => {
    await admin(page);
    await nav(page, 'Resilience').click();
    await page.getByRole('heading', { name: 'Resilience', level: 1 }).waitFor();
    assert.equal(await nav(page, 'Resilience').getAttribute('aria-current'), 'page');
    // The template as the python side created it: description, action, target, role.
    const row = page.getByRole('table', { name: 'Experiment templates in us-east-1' }).locator(`tr[data-template="${tid}"]`);
    const text = await row.innerText();
    for (const want of ['Stop one node of console-a', 'stop: daxd:dax:stop-node', 'node: daxd:dax:node', env('FIS_ROLE_ARN')]) {
      assert.ok(text.includes(want), `the template row shows ${want}: ${text}`);
    }
    await page.getByText('No experiments in this region.').waitFor();
    await snap(page, 'resilience');
    assert.ok(await accepts(port), 'the node listens before the experiment');

    // Start: the experiment's page, its stop-node action running, the node's port closed.
    await row.getByRole('button', { name: `Start experiment from template ${tid}` }).click();
    await page.getByRole('heading', { name: /^Experiment EXP/ }).waitFor();
    const eid = (await page.locator('main h1').innerText()).replace('Experiment ', '');
    await page.getByRole('status').filter({ hasText: `Experiment ${eid} started from template ${tid}.` }).waitFor();
    const action = page.getByRole('table', { name: 'Actions of the experiment' }).locator('tr[data-action="stop"]');
    // The page refreshes itself (no reload here) while the experiment runs.
    await page.waitForFunction(() => /\brunning\b/.test(document.querySelector('tr[data-action="stop"] .status')?.textContent || ''), null, { timeout: 20000 });
    assert.match(await action.innerText(), /daxd:dax:stop-node/);
    assert.match(await action.innerText(), /duration=PT5M/);
    assert.match(await page.locator('dl.summary .status').innerText(), /running/);
    assert.match(await page.getByRole('table', { name: 'Targets of the experiment' }).innerText(), new RegExp(`cache/console-a/${env('FIS_NODE_ID')}`));
    await until('the node to stop listening', async () => !(await accepts(port)));
    await snap(page, 'experiment-running');
    for (const width of [390, 1024, 1440]) {
      await page.setViewportSize({ width, height: 900 });
      const label = `experiment at ${width} px`;
      await noOverflow(page, label);
      await unwrapped(page, label);
      await snap(page, `w${width}-experiment`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // Stop, confirmed in a dialog (a CSRF-protected form).
    await page.getByRole('link', { name: 'Stop experiment' }).click();
    const dialog = page.getByRole('dialog', { name: 'Stop experiment' });
    await dialog.waitFor();
    assert.equal(await dialog.locator('input[name="_csrf"]').count(), 1);
    await snap(page, 'experiment-stop-dialog');
    await dialog.getByRole('button', { name: 'Stop experiment' }).click();
    await page.getByRole('status').filter({ hasText: `Stopping experiment ${eid}.` }).waitFor();
    await page.waitForFunction(() => document.querySelector('dl.summary .status')?.textContent === 'stopped', null, { timeout: 20000 });
    assert.match(await action.locator('.status').innerText(), /^stopped$/);
    assert.equal(await page.getByRole('link', { name: 'Stop experiment' }).count(), 0, 'no Stop once it has ended');
    assert.equal(await page.locator('main[data-refresh-ms]').count(), 0, 'no refresh once it has ended');
    await until('the node to listen again', () => accepts(port), 5000);
    await snap(page, 'experiment-stopped');

    // The list: the experiment, stopped, with its reason and times.
    await nav(page, 'Resilience').click();
    const exp = page.getByRole('table', { name: 'Experiments in us-east-1' }).locator(`tr[data-experiment="${eid}"]`);
    assert.match(await exp.innerText(), /stopped/);
    assert.ok((await exp.innerText()).includes(tid));
    assert.equal((await exp.innerText()).match(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g)?.length, 2, 'started and ended');
    await snap(page, 'resilience-after');
  });
  // A user with no permissions sees FIS's denial.
  await browse('resilience-denied', async (page) => {
    await signInWithPassword(page, env('VIEWER_USER'), env('VIEWER_PASSWORD'));
    await nav(page, 'Resilience').click();
    await page.getByRole('alert').filter({ hasText: 'Access denied' }).first().waitFor();
    assert.match(await mainText(page), new RegExp(`User: arn:aws:iam::${ACCOUNT}:user/${env('VIEWER_USER')} is not authorized to perform: fis:ListExperimentTemplates`));
    assert.ok(!(await mainText(page)).includes(tid), 'no template shown');
    await snap(page, 'resilience-denied');
  });
});

test('seed: DAX → Clusters → Actions → Delete → confirm → the cluster goes away', async () => {
  await browse('delete-cluster', async (page) => {
    await admin(page);
    await nav(page, 'Clusters').click();
    await page.getByRole('heading', { name: 'Clusters' }).waitFor();
    await page.locator('tr[data-cluster="console-a"]').waitFor();
    await snap(page, 'clusters');
    // "Create cluster" and "Actions" share one line.
    const actions = page.getByRole('button', { name: 'Actions' });
    const create = page.getByRole('link', { name: 'Create cluster' });
    const [a, c] = [await actions.boundingBox(), await create.boundingBox()];
    assert.ok(Math.abs(a.y - c.y) < 8, `Actions and Create cluster on one line: ${JSON.stringify([a, c])}`);
    await page.getByRole('radio', { name: 'Select cluster console-a' }).check();
    // A real button that says whether its menu is open.
    assert.equal(await actions.getAttribute('aria-expanded'), 'false');
    await actions.click();
    assert.equal(await actions.getAttribute('aria-expanded'), 'true');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete cluster' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /console-a/);
    await snap(page, 'delete-cluster-dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    const row = page.locator('tr[data-cluster="console-a"]');
    await row.filter({ hasText: 'deleting' }).waitFor();
    await snap(page, 'cluster-deleting');
    // The page follows the deletion until the cluster is gone.
    await row.waitFor({ state: 'detached', timeout: 30000 });
    await page.getByText('No clusters in this region.').waitFor();
    // Said, not just gone.
    await page.getByRole('status').filter({ hasText: 'Cluster console-a has been deleted.' }).waitFor();
    // Nothing to act on: no Actions menu.
    assert.equal(await page.getByRole('button', { name: 'Actions' }).count(), 0);
    await snap(page, 'cluster-gone');
  });
});

test('seed: deleting the role fails while a cluster remains in another region, naming it', async () => {
  await browse('role-delete-fails', async (page) => {
    await admin(page);
    await nav(page, 'Roles').click();
    await page.getByRole('link', { name: SLR }).click();
    await page.getByRole('link', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete role' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: `Deleting role ${SLR}` }).waitFor();
    await waitForText(page, 'FAILED', 30000);
    const usage = page.getByRole('table', { name: 'Regions and resources still using the role' });
    const text = await usage.innerText();
    assert.match(text, /eu-west-1/);
    assert.match(text, new RegExp(`arn:aws:dax:eu-west-1:${ACCOUNT}:cache/console-eu`));
    assert.doesNotMatch(text, /us-east-1/, 'the deleted cluster no longer counts');
    // The right singular, and each cluster linked in its own region.
    await page.getByText('it is still used by 1 resource in 1 region.').waitFor();
    const regionLink = page.getByRole('link', { name: 'DAX clusters in eu-west-1' });
    assert.match(await regionLink.getAttribute('href'), /\/dax\/clusters\?region=eu-west-1$/);
    const clusterLink = usage.getByRole('link', { name: new RegExp('cache/console-eu') });
    assert.match(await clusterLink.getAttribute('href'), /\/dax\/clusters\/console-eu\?region=eu-west-1$/);
    await snap(page, 'role-deletion-failed');
  });
});

test('seed: with the last cluster deleted (by keyboard), the role deletion succeeds', async () => {
  await browse('role-delete-succeeds', async (page) => {
    await admin(page);
    await nav(page, 'Clusters').click();
    // The region selector.
    await page.getByLabel('Region').selectOption('eu-west-1');
    await page.waitForURL(/region=eu-west-1/);
    await page.locator('tr[data-cluster="console-eu"]').waitFor();
    await snap(page, 'clusters-eu-west-1');
    // Keyboard only: select, open Actions, choose Delete, confirm.
    await page.getByRole('radio', { name: 'Select cluster console-eu' }).focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Actions' }).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Delete cluster' });
    await dialog.waitFor();
    // The box opens with its Delete button focused.
    await page.waitForFunction(() => document.activeElement?.closest('dialog') && document.activeElement.textContent === 'Delete');
    await page.keyboard.press('Enter');
    await page.locator('tr[data-cluster="console-eu"]').waitFor({ state: 'detached', timeout: 30000 });
    await nav(page, 'Roles').click();
    await page.getByRole('link', { name: SLR }).click();
    await page.getByRole('link', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog', { name: 'Delete role' }).getByRole('button', { name: 'Delete' }).click();
    await waitForText(page, 'SUCCEEDED', 30000);
    await snap(page, 'role-deleted');
    await nav(page, 'Roles').click();
    assert.doesNotMatch(await mainText(page), new RegExp(SLR));
  });
});
