// The company page on the demo data set: the values it shows are the ones the API computes for
// the same period, the chart is there, and the period and language controls work as plain GET
// forms and links, hydrated (the pages are islands: no client-side routing) and without JavaScript.
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
// The demo gives every KPI a value in its last full month (tests/demo.rs checks the catalog).
const ALWAYS_MEASURED = KPIS;

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
  const revenue = page.locator('figure.chart').first();
  await expect(revenue.locator('.chart-svg svg')).toBeVisible();
  await expect(revenue.locator('.chart-svg[role="img"]')).toHaveAttribute('aria-label', 'Gross revenue per day');
  await expect(revenue.locator('table tbody tr')).toHaveCount(30);
});

test('each tile has a named sparkline, a target line and both comparisons', async ({ page }, info) => {
  await page.goto('/?from=2026-06-01&to=2026-06-30');
  await ready(page, info.project.name === 'hydrated');
  for (const key of KPIS) {
    const tile = page.locator(`[data-kpi="${key}"]`);
    const name = (await tile.locator('.kpi-name').innerText()).trim();
    // A picture with a name, drawn on the server: no script needed to see or announce it.
    await expect(tile.getByRole('img', { name: `Trend of ${name}, 1 Jun 2026–30 Jun 2026` })).toBeVisible();
    await expect(tile.locator('.sparkline svg')).toHaveCount(1);
    await expect(tile.locator('.kpi-change[data-compare="previous"]')).toContainText('vs previous period');
    await expect(tile.locator('.kpi-change[data-compare="last_year"]')).toContainText('last year');
    await expect(tile.locator('.kpi-target')).toHaveCount(1);
    // The demo's target plan sets a target for every tile, so each shows its status.
    await expect(tile.locator('.kpi-target [data-status]')).toHaveCount(1);
  }
});

test('channel mix, top stores and regions, and multichannel buyers match the API', async ({ page }, info) => {
  const june = 'from=2026-06-01&to=2026-06-30';
  await page.goto(`/?${june}`);
  await ready(page, info.project.name === 'hydrated');
  const figures = page.locator('section.breakdowns figure.chart');
  await expect(figures).toHaveCount(3);
  const dimensions = ['channel', 'store', 'region'];
  for (let i = 0; i < 3; i++) {
    const body = await (await page.request.get(
      `/api/v1/kpis/gross_revenue/breakdown?${june}&dimension=${dimensions[i]}&top=8`)).json();
    // The channel mix is whole; the top stores and regions leave "other" out (it also holds
    // every sale made outside a store).
    const parts: { value: string | null; kpi: number | null }[] =
      i === 0 ? body.parts : body.parts.filter((p: { value: string | null }) => p.value !== null);
    const rows = figures.nth(i).locator('table tbody tr');
    await expect(rows).toHaveCount(parts.length);
    // The same parts in the same order (the largest first, "Other" last).
    for (let j = 0; j < parts.length; j++) {
      await expect(rows.nth(j).locator('td').first()).toHaveText(parts[j].value ?? 'Other');
    }
  }
  await expect(figures.nth(0).locator('figcaption')).toHaveText('Channel mix · Gross revenue');
  const kpis = await (await page.request.get(
    `/api/v1/kpis?${june}&kpi=multichannel_frequency_uplift,multichannel_value_uplift`)).json();
  const uplift = kpis.kpis.find((k: any) => k.key === 'multichannel_frequency_uplift').value;
  const table = page.locator('section.multichannel table');
  await expect(table.locator('tbody tr')).toHaveCount(2);
  if (uplift !== null) {
    await expect(table.locator('tbody tr').first().locator('td').nth(2)).toHaveText(`${uplift.toFixed(2)}×`);
  }
  await expect(page.locator('figure.chart').nth(1).locator('figcaption')).toHaveText('Active customers per day');
});

test('the insight links and the TV link do not overlap at phone width', async ({ page }, info) => {
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto('/?from=2026-06-01&to=2026-06-30&lang=it');
  await ready(page, info.project.name === 'hydrated');
  const links = await page.locator('nav.insight-links').boundingBox();
  const tv = await page.getByRole('link', { name: /^Mostra su una TV/ }).boundingBox();
  expect(links && tv).toBeTruthy();
  expect(tv!.y).toBeGreaterThanOrEqual(links!.y + links!.height);
});

test('the alerts bell is a drawn icon whose name carries the unread count', async ({ page }, info) => {
  await page.goto('/?from=2026-06-01&to=2026-06-30');
  await ready(page, info.project.name === 'hydrated');
  const bell = page.locator('a.bell');
  const unread = await bell.getAttribute('data-unread');
  await expect(bell).toHaveAccessibleName(`Alerts: ${unread} unread`);
  await expect(bell.locator('svg.bell-icon')).toBeVisible();
  await page.goto('/?from=2026-06-01&to=2026-06-30&lang=it');
  await expect(page.locator('a.bell')).toHaveAccessibleName(/^Avvisi: \d+ non letti$/);
});

test('the period form changes the values and keeps them in the URL', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  // Hydrated, the view starts on a preset: typing the dates selects "custom dates" (the period
  // form's island), or the preset would win over them. Without JavaScript the user picks it.
  await page.goto(hydrated ? '/?preset=last_month' : '/?from=2026-06-01&to=2026-06-30');
  await ready(page, hydrated);
  await page.getByLabel('From', { exact: true }).fill('2026-05-01');
  await page.getByLabel('To', { exact: true }).fill('2026-05-31');
  await expect(page.getByLabel('Period', { exact: true })).toHaveValue('custom');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/from=2026-05-01/);
  await expect(page).toHaveURL(/to=2026-05-31/);
  await expect(page).toHaveURL(/preset=custom/);
  await expectTilesMatch(page, await apiValues(page.request, '2026-05-01', '2026-05-31'));
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

// A phone loads the client bundle gzipped (a third of its size); the page itself is sent as is,
// since it carries the anti-forgery token (src/server/routes.rs, compressible_asset).
test('the client bundle is sent gzipped, the page is not', async ({ page }) => {
  const wasm = await page.request.get('/pkg/omnikpi.wasm', { headers: { 'accept-encoding': 'gzip' } });
  expect(wasm.ok()).toBeTruthy();
  expect(wasm.headers()['content-type']).toBe('application/wasm');
  expect(wasm.headers()['content-encoding']).toBe('gzip');
  const html = await page.request.get('/?lang=en', { headers: { 'accept-encoding': 'gzip' } });
  expect(html.ok()).toBeTruthy();
  expect(await html.text()).toContain('kpi-tile');
  expect(html.headers()['content-encoding']).toBeUndefined();
});
