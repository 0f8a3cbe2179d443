// The CX officer's way through the demo data: from the journey view to the most expensive pain
// point, one of its example journeys, and that customer's 360, in three clicks; the same with
// and without JavaScript (the config runs every spec in both projects).
import { test, expect, Page } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

const PERIOD = 'from=2026-01-01&to=2026-06-30&lang=en';

test('the CX officer reaches a real customer from the top pain point in three clicks', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.cx);
  await page.goto(`/journeys?${PERIOD}`);
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Customer journeys');
  await expect(page.getByRole('link', { name: 'Journeys' })).toHaveAttribute('aria-current', 'page');

  // The pain points come ranked by revenue lost: the first row is the most expensive.
  const pains = page.locator('section.pains tbody tr');
  await expect(pains.first()).toBeVisible();
  const top = pains.first().locator('th a');
  const name = (await top.textContent())!.trim();
  const lost = (await pains.first().locator('td span.num').textContent())!.trim();
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
  await page.goto('/customer?lang=en');
  await ready(page, hydrated);
  await page.getByLabel(/E-mail, phone, loyalty card/).fill(email);
  await page.getByRole('button', { name: 'Search' }).click();
  const masked = email[0] + '***@' + email.split('@')[1];
  await expect(page.locator('td.identifier', { hasText: masked })).toBeVisible();
  await expect(page.locator('body')).not.toContainText(`${email.split('@')[0]}@`);
});
