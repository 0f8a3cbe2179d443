// The CX officer's way through the demo data: from the journey view to the most expensive pain
// point, one of its example journeys, and that customer's 360, in three clicks; the same with
// and without JavaScript (the config runs every spec in both projects).
import { test, expect, Page } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';
import { searchCustomer } from './customers';

const PERIOD = 'from=2026-01-01&to=2026-06-30&lang=en';

test('the CX officer reaches a real customer from the top pain point in three clicks', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.cx);
  await page.goto(`/journeys?${PERIOD}`);
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Customer journeys');
  await expect(page.getByRole('link', { name: 'Journeys' })).toHaveAttribute('aria-current', 'page');

  // The pain points come ranked by revenue lost. The most expensive failure rule (a rule that
  // names the step where the journey failed, so the journey page can mark it) is taken: a
  // rule-5 finding (a campaign, touchpoint or hand-off converting worse, key `rule:kind:value`)
  // flags whole journeys and marks no step, and with the demo's e-mail journeys one of those
  // can rank first.
  const pains = page.locator('section.pains tbody tr');
  await expect(pains.first()).toBeVisible();
  const failure = pains.filter({ has: page.locator('th a[href*="/journeys/pain/"]:not([href*="%3A"]):not([href*=":"])') }).first();
  await expect(failure).toBeVisible();
  const top = failure.locator('th a');
  const name = (await top.textContent())!.trim();
  const lost = (await failure.locator('td span.num').textContent())!.trim();
  expect(lost).toMatch(/^€[\d,]+\.\d\d$/);

  // Click 1: the pain point, with the same revenue lost and its formula.
  await top.click();
  await expect(page).toHaveURL(/\/journeys\/pain\//);
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.locator('p.formula strong')).toContainText(`= ${lost}`);
  await expect(page.locator('.chart-svg svg')).toBeVisible();

  // Click 2: an example journey, with the pain point marked on one of its steps.
  await page.locator('ul.examples a').first().click();
  await expect(page).toHaveURL(/\/journeys\/journey\/\d+/);
  await ready(page, hydrated);
  await expect(page.locator('table.steps tr.hit').first()).toBeVisible();

  // Click 3: the customer 360, identifiers unmasked for the CX officer.
  await page.getByRole('link', { name: /Open the customer 360/ }).click();
  await expect(page).toHaveURL(/\/customer\/\d+/);
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Customer 360');
  await expect(page.locator('td.identifier').first()).not.toContainText('***');
  await expect(page.locator('table.steps tbody tr').first()).toBeVisible();
});

test('the executive finds a customer by identifier and sees it masked', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  // The CX officer reads a real identifier; the executive searches with it.
  await signIn(page, DEMO.cx);
  await page.goto(`/journeys?${PERIOD}`);
  await page.locator('section.pains tbody tr th a').first().click();
  await page.locator('ul.examples a').first().click();
  await page.getByRole('link', { name: /Open the customer 360/ }).click();
  const email = (await page.locator('tr:has(td:text-is("email")) td.identifier').first().textContent())!.trim();
  expect(email).toContain('@');
  await page.context().clearCookies();

  await signIn(page, DEMO.executive);
  await searchCustomer(page, email, hydrated);
  // The search is a form post that lands on the customer's number: no e-mail in the URL.
  await expect(page).toHaveURL(/\/customer\/\d+\?lang=en$/);
  expect(page.url()).not.toContain(email.split('@')[0]);
  const masked = email[0] + '***@' + email.split('@')[1];
  await expect(page.locator('td.identifier', { hasText: masked })).toBeVisible();
  await expect(page.locator('body')).not.toContainText(`${email.split('@')[0]}@`);
});

test('the flow chart of channel hand-offs has its table', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.cx);
  await page.goto(`/journeys?${PERIOD}`);
  await ready(page, hydrated);
  const flow = page.locator('#flow');
  await expect(flow.locator('svg')).toBeVisible();
  await expect(flow.locator('svg polygon').first()).toBeAttached();
  await flow.locator('summary').click();
  const rows = flow.locator('table tbody tr');
  await expect(rows.first()).toBeVisible();
  // Every band joins two different channels.
  const from = (await rows.first().locator('th').nth(0).textContent())!.trim();
  const to = (await rows.first().locator('th').nth(1).textContent())!.trim();
  expect(from).not.toBe(to);
});

test('a custom funnel is chosen in a form and reproduced by its URL', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.cx);
  await page.goto(`/journeys?${PERIOD}`);
  await ready(page, hydrated);
  await page.getByRole('link', { name: 'Build a custom funnel' }).click();
  await expect(page).toHaveURL(/\/journeys\/funnel\?/);
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Custom funnel');
  // Two steps: a visit, then a purchase in the store.
  const form = page.locator('.funnel-form');
  await form.locator('select[name="t1"]').selectOption('visit');
  await form.locator('select[name="c1"]').selectOption('');
  await form.locator('select[name="t2"]').selectOption('purchase');
  await form.locator('select[name="c2"]').selectOption('store');
  for (const n of [3, 4, 5]) {
    await form.locator(`select[name="t${n}"]`).selectOption('');
  }
  await form.locator('button[type="submit"]').click();
  await expect(page).toHaveURL(/t1=visit/);
  await expect(page).toHaveURL(/t2=purchase&c2=store/);
  await ready(page, hydrated);
  const table = page.locator('figure.chart table').first();
  await expect(table.locator('tbody tr')).toHaveCount(2);
  await expect(table.locator('tbody tr').nth(1).locator('th')).toHaveText('purchase @ store');
  const reached = (await table.locator('tbody tr').nth(1).locator('td').first().textContent())!.trim();
  // The same URL gives the same funnel.
  const url = page.url();
  await page.goto(url);
  await ready(page, hydrated);
  await expect(page.locator('figure.chart table').first().locator('tbody tr').nth(1).locator('td').first()).toHaveText(reached);
});

test('before and after a day, with the significance of each change', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.cx);
  await page.goto('/journeys/compare?at=2026-04-01&days=28&lang=en');
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Before and after');
  await expect(page.locator('#compare-periods')).toHaveText(
    'Before: 2026-03-04 – 2026-03-31 · After: 2026-04-01 – 2026-04-28',
  );
  const conversion = page.locator('#compare-conversion tbody tr');
  await expect(conversion).toHaveCount(1);
  await expect(conversion.locator('td').nth(0)).toContainText(/% \([\d,]+ of [\d,]+\)/);
  await expect(page.locator('#compare-funnel tbody tr')).toHaveCount(4);
  await expect(page.locator('#compare-pains tbody tr').first()).toBeVisible();
  // A shorter window through the form.
  await page.getByLabel('Days on each side').fill('14');
  await page.getByRole('button', { name: 'Compare' }).click();
  await expect(page).toHaveURL(/days=14/);
  await ready(page, hydrated);
  await expect(page.locator('#compare-periods')).toHaveText(
    'Before: 2026-03-18 – 2026-03-31 · After: 2026-04-01 – 2026-04-14',
  );
});
