// The company page on the demo data set: the values it shows are the ones the API computes for
// the same period, the chart is there, and the period and language controls work both as
// client-side navigation (hydrated) and as plain GET forms and links (JavaScript disabled).
import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

// The executive is the company view's first reader.
test.beforeEach(async ({ page }) => {
  await signIn(page, DEMO.executive);
});

// The company view's tiles, in order (src/server/kpi/catalog.toml, views.company).
const KPIS = [
  'net_revenue', 'gross_revenue', 'orders', 'aov', 'active_customers', 'omnichannel_share',
  'multichannel_frequency_uplift', 'multichannel_value_uplift', 'churn_rate', 'clv', 'nps',
];
// Measured by the demo's sources today; the rest may be n/a until richer sources arrive.
const ALWAYS_MEASURED = ['net_revenue', 'gross_revenue', 'orders', 'aov', 'active_customers'];

async function apiValues(request: APIRequestContext, from: string, to: string) {
  const response = await request.get(`/api/v1/kpis?from=${from}&to=${to}`);
  expect(response.ok()).toBeTruthy();
  const body = await response.json();
  expect(body.from).toBe(from);
  expect(body.to).toBe(to);
  return new Map<string, number | null>(body.kpis.map((k: any) => [k.key, k.value]));
}

async function expectTilesMatch(page: Page, values: Map<string, number | null>) {
  await expect(page.locator('.kpi-tile')).toHaveCount(KPIS.length);
  for (const key of KPIS) {
    const value = page.locator(`[data-kpi="${key}"] .kpi-value`);
    const expected = values.get(key);
    expect(expected, `${key} is in the API answer`).not.toBeUndefined();
    if (ALWAYS_MEASURED.includes(key)) {
      expect(expected, `${key} has a value in the demo data`).not.toBeNull();
    }
    await expect(value).toHaveAttribute('data-value', String(expected));
    await expect(value).not.toHaveText('');
  }
}

test('shows the demo KPIs that the API computes, and the revenue chart', async ({ page }, info) => {
  const values = await apiValues(page.request, '2026-06-01', '2026-06-30');
  expect(values.get('gross_revenue')!).toBeGreaterThan(0);
  await page.goto('/?from=2026-06-01&to=2026-06-30');
  await ready(page, info.project.name === 'hydrated');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Company overview');
  await expectTilesMatch(page, values);
  await expect(page.locator('[data-kpi="gross_revenue"] .kpi-value')).toHaveText(/^€[\d,]+\.\d\d$/);
  await expect(page.locator('.chart-svg svg')).toBeVisible();
  await expect(page.locator('.chart-svg[role="img"]')).toHaveAttribute('aria-label', 'Gross revenue per day');
  await expect(page.locator('.chart table tbody tr')).toHaveCount(30);
});

test('the period form changes the values and keeps them in the URL', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await page.goto('/?from=2026-06-01&to=2026-06-30');
  await ready(page, hydrated);
  if (hydrated) {
    await page.evaluate(() => ((window as any).__stillHere = true));
  }
  await page.getByLabel('From', { exact: true }).fill('2026-05-01');
  await page.getByLabel('To', { exact: true }).fill('2026-05-31');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/from=2026-05-01/);
  await expect(page).toHaveURL(/to=2026-05-31/);
  await expectTilesMatch(page, await apiValues(page.request, '2026-05-01', '2026-05-31'));
  if (hydrated) {
    // The router handled the submit: the page was not reloaded.
    expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
  }
});

test('a shared link reproduces the view, in Italian', async ({ page }, info) => {
  await page.goto('/?from=2026-06-01&to=2026-06-30');
  await ready(page, info.project.name === 'hydrated');
  await page.getByRole('link', { name: 'IT' }).click();
  await expect(page).toHaveURL(/lang=it/);
  await expect(page).toHaveURL(/from=2026-06-01/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Panoramica aziendale');
  await expect(page.locator('html')).toHaveAttribute('lang', 'it');
  await expect(page.locator('[data-kpi="gross_revenue"] .kpi-value')).toHaveText(/^[\d.]+,\d\d €$/);
  await expectTilesMatch(page, await apiValues(page.request, '2026-06-01', '2026-06-30'));
});

test('works at phone width', async ({ page }, info) => {
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto('/?from=2026-06-01&to=2026-06-30');
  await ready(page, info.project.name === 'hydrated');
  await expect(page.locator('.kpi-tile').first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: info.outputPath(`company-360-${info.project.name}.png`), fullPage: true });
});
