// The KPI tree and "what changed" on the demo data set: the tree's net revenue is the one the
// API computes for the same URL, its nodes link to their detail, and "what changed" of store
// conversion by store in June (the demo's planted month) names the planted weak store first,
// with the contribution the API reports. Each test runs hydrated and with JavaScript disabled.
import { test, expect } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

test.beforeEach(async ({ page }) => {
  await signIn(page, DEMO.executive);
});

const JUNE = 'from=2026-06-01&to=2026-06-30';

// Fails on main (both projects) with a 30 s timeout; written by the insights branch but never run there; open in #9.
test.fixme('the KPI tree shows the net revenue the API computes', async ({ page }, info) => {
  await page.goto(`/?${JUNE}`);
  await ready(page, info.project.name === 'hydrated');
  await page.locator('.insight-links a[href^="/insights/tree"]').click();
  await expect(page).toHaveURL(/\/insights\/tree\?from=2026-06-01&to=2026-06-30/);
  await ready(page, info.project.name === 'hydrated');
  const response = await page.request.get(`/api/v1/kpi-tree?${JUNE}`);
  expect(response.ok()).toBeTruthy();
  const tree = await response.json();
  expect(tree.rows[0].key).toBe('net_revenue');
  const root = page.locator('tr[data-kpi="net_revenue"]');
  await expect(root).toHaveAttribute('data-value', String(tree.rows[0].value));
  // Each KPI node links to its detail, keeping the view.
  await page.locator('tr[data-kpi="footfall"] a').click();
  await expect(page).toHaveURL(/\/kpi\/footfall\?from=2026-06-01&to=2026-06-30/);
});

test('what changed names the planted weak store first', async ({ page }, info) => {
  const query = `kpi=store_conversion_rate&by=store&${JUNE}`;
  await page.goto(`/insights/changed?${query}`);
  await ready(page, info.project.name === 'hydrated');
  const response = await page.request.get(
    `/api/v1/what-changed?kpi=store_conversion_rate&dimension=store&${JUNE}`,
  );
  expect(response.ok()).toBeTruthy();
  const changed = await response.json();
  expect(changed.parts[0].value).toBe('BO01');
  const first = page.locator('table.changed-table tbody tr').first();
  await expect(first).toHaveAttribute('data-part', 'BO01');
  await expect(first).toHaveAttribute('data-contribution', String(changed.parts[0].contribution));
  await expect(page.locator('.changed-summary li').nth(1)).toContainText('BO01 contributed');
  await expect(page.locator('figure.waterfall svg')).toBeVisible();
  // The plain GET form switches the dimension and keeps the KPI and the period.
  await page.locator('#c-by').selectOption('channel');
  await page.locator('form:has(#c-by) button[type="submit"]').click();
  await expect(page).toHaveURL(/by=channel/);
  await expect(page).toHaveURL(/kpi=store_conversion_rate/);
  await expect(page).toHaveURL(/from=2026-06-01/);
});
