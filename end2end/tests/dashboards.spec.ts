// The KPI detail and department views on the demo data set: the values are the ones the API
// computes for the same URL, the grain switch and the filters change what is shown, the
// department lists the KPIs the catalog says it owns, and downloads arrive and parse. Each
// test runs hydrated and with JavaScript disabled (playwright.config.ts).
import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { readFileSync } from 'fs';
import { DEMO, signIn, ready } from './auth';

// The executive reads every view (in English: the specs check English labels).
test.beforeEach(async ({ page }) => {
  await signIn(page, DEMO.executive);
});

const JUNE = 'from=2026-06-01&to=2026-06-30';

// The KPIs src/server/kpi/catalog.toml gives to marketing (owner = "marketing"), internal
// building blocks left out.
const MARKETING = [
  'new_customers', 'ad_spend', 'ad_ctr', 'roas', 'cpa', 'email_open_rate', 'email_ctr',
  'social_engagement', 'social_engagement_rate',
];

async function apiValue(request: APIRequestContext, key: string, query: string) {
  const response = await request.get(`/api/v1/kpis?${query}&kpi=${key}`);
  expect(response.ok()).toBeTruthy();
  const body = await response.json();
  return body.kpis[0].value as number | null;
}

function parseCsv(text: string, separator: string): string[][] {
  // The exports quote only cells holding the separator, a quote or a line break.
  const rows: string[][] = [];
  for (const line of text.split('\r\n').filter((l) => l.length > 0)) {
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; }
        else if (c === '"') { quoted = false; }
        else { cell += c; }
      } else if (c === '"') { quoted = true; }
      else if (c === separator) { cells.push(cell); cell = ''; }
      else { cell += c; }
    }
    cells.push(cell);
    rows.push(cells);
  }
  return rows;
}

test('the KPI detail shows the value the API computes for the same URL', async ({ page }, info) => {
  await page.goto(`/?${JUNE}`);
  await ready(page, info.project.name === 'hydrated');
  // Every tile of the company view links to the KPI's detail, keeping the view.
  await page.locator('[data-kpi="gross_revenue"] .kpi-name a').click();
  await expect(page).toHaveURL(/\/kpi\/gross_revenue\?from=2026-06-01&to=2026-06-30/);
  await ready(page, info.project.name === 'hydrated');
  const expected = await apiValue(page.request, 'gross_revenue', JUNE);
  expect(expected).toBeGreaterThan(0);
  await expect(page.locator('.kpi-summary .kpi-value')).toHaveAttribute('data-value', String(expected));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Gross revenue');
  await expect(page.getByRole('heading', { name: 'Definition' })).toBeVisible();
  await expect(page.locator('.definition p').first()).toHaveText('Sum of the amounts of purchase events.');
  await expect(page.locator('.series .chart-svg svg')).toBeVisible();
  await page.screenshot({ path: info.outputPath(`kpi-detail-1280-${info.project.name}.png`), fullPage: true });
});

test('filters from the form narrow the detail like the API', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await page.goto(`/kpi/gross_revenue?${JUNE}`);
  await ready(page, hydrated);
  await page.getByLabel('Channel', { exact: true }).selectOption('web');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/channel=web/);
  await expect(page).toHaveURL(/\/kpi\/gross_revenue/);
  const web = await apiValue(page.request, 'gross_revenue', `${JUNE}&channel=web`);
  const all = await apiValue(page.request, 'gross_revenue', JUNE);
  expect(web).not.toBe(all);
  await expect(page.locator('.kpi-summary .kpi-value')).toHaveAttribute('data-value', String(web));
  await expect(page.getByLabel('Channel', { exact: true })).toHaveValue('web');
});

test('the grain switch changes the chart', async ({ page }, info) => {
  await page.goto(`/kpi/gross_revenue?${JUNE}`);
  await ready(page, info.project.name === 'hydrated');
  const rows = page.locator('.series-table tbody tr');
  await expect(rows).toHaveCount(30);
  const daily = await page.locator('.series .chart-svg').innerHTML();
  const grains = page.getByRole('navigation', { name: 'Grain' });
  await expect(grains.getByRole('link', { name: 'Day' })).toHaveAttribute('aria-current', 'page');
  await grains.getByRole('link', { name: 'Week' }).click();
  await expect(page).toHaveURL(/grain=week/);
  // June 2026 starts on a Monday: weeks of 1-7, 8-14, 15-21, 22-28 and 29-30.
  await expect(rows).toHaveCount(5);
  await expect(grains.getByRole('link', { name: 'Week' })).toHaveAttribute('aria-current', 'page');
  expect(await page.locator('.series .chart-svg').innerHTML()).not.toBe(daily);
  await expect(page.locator('.series figcaption')).toHaveText('Gross revenue · Week');
});

test('the department view lists the KPIs it owns and shows where we are', async ({ page }, info) => {
  await page.goto(`/dept/marketing?${JUNE}`);
  await ready(page, info.project.name === 'hydrated');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Marketing');
  const tiles = page.locator('.kpi-tile');
  await expect(tiles).toHaveCount(MARKETING.length);
  for (const key of MARKETING) {
    const tile = page.locator(`[data-kpi="${key}"]`);
    await expect(tile).toHaveCount(1);
    // The demo measures every marketing KPI (e-mail, social and ad exports) and plans a
    // target for each, so every tile has a value and a status (#19).
    await expect(tile.locator('.kpi-value')).not.toHaveAttribute('data-value', 'null');
    await expect(tile.locator('.kpi-target [data-status]')).toHaveCount(1);
  }
  // The market's figure beside ours, with its source linked.
  const market = page.locator('[data-kpi="email_open_rate"] .kpi-benchmark');
  await expect(market).toContainText('Market');
  await expect(market.getByRole('link', { name: /Mailchimp/ })).toHaveAttribute('href', /^https:\/\//);
  const nav = page.getByRole('navigation', { name: 'Dashboards' });
  await expect(nav.getByRole('link', { name: 'Marketing' })).toHaveAttribute('aria-current', 'page');
  await expect(nav.getByRole('link', { name: 'Company' })).not.toHaveAttribute('aria-current', 'page');
  // Navigation keeps the period.
  await nav.getByRole('link', { name: 'Stores' }).click();
  await expect(page).toHaveURL(/\/dept\/stores\?from=2026-06-01&to=2026-06-30/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Stores');
  await expect(page.locator('[data-kpi="store_orders"]')).toHaveCount(1);
  await expect(page.locator('figure.breakdown')).toHaveCount(2);
});

test('a CSV export downloads and parses to the numbers of the API', async ({ page }, info) => {
  await page.goto(`/kpi/gross_revenue?${JUNE}&lang=it`);
  await ready(page, info.project.name === 'hydrated');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#breakdown').getByRole('link', { name: /^Scarica CSV/ }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('omnikpi-gross_revenue-by-channel-2026-06-01-2026-06-30.csv');
  const bytes = readFileSync(await download.path());
  expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const rows = parseCsv(bytes.subarray(3).toString('utf8'), ';');
  expect(rows[0]).toEqual(['Canale', 'Fatturato lordo']);
  const api = await (await page.request.get(`/api/v1/kpis/gross_revenue/breakdown?${JUNE}&dimension=channel&top=8`)).json();
  expect(rows.length - 1).toBe(api.parts.length);
  for (const part of api.parts) {
    const row = rows.find((r) => r[0] === (part.value ?? 'Altro'));
    expect(row, `${part.value} is in the file`).toBeTruthy();
    expect(Number(row![1].replace(',', '.'))).toBeCloseTo(part.kpi, 6);
  }
});

test('works at phone width', async ({ page }, info) => {
  await page.setViewportSize({ width: 360, height: 780 });
  for (const [name, url] of [
    ['kpi-detail', `/kpi/gross_revenue?${JUNE}`],
    ['department', `/dept/stores?${JUNE}&lang=it`],
  ]) {
    await page.goto(url);
    await ready(page, info.project.name === 'hydrated');
    await expect(page.locator('h1')).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} fits 360 px`).toBeLessThanOrEqual(0);
    await page.screenshot({ path: info.outputPath(`${name}-360-${info.project.name}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`/dept/stores?${JUNE}`);
  await ready(page, info.project.name === 'hydrated');
  await page.screenshot({ path: info.outputPath(`department-1280-${info.project.name}.png`), fullPage: true });
});

test('a preset sets the period from today and stays in the URL', async ({ page }, info) => {
  await page.goto(`/dept/sales?${JUNE}`);
  await ready(page, info.project.name === 'hydrated');
  await page.getByLabel('Period', { exact: true }).selectOption('last_month');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/preset=last_month/);
  await expect(page.getByLabel('Period', { exact: true })).toHaveValue('last_month');
  // The form shows the dates the preset stands for: the whole of last month, "today" being
  // the server's day in the instance's time zone (Europe/Rome by default).
  const [year, month] = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' })
    .format(new Date()).split('-').map(Number);
  const first = new Date(Date.UTC(year, month - 2, 1));
  const last = new Date(Date.UTC(year, month - 1, 0));
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  await expect(page.getByLabel('From', { exact: true })).toHaveValue(iso(first));
  await expect(page.getByLabel('To', { exact: true })).toHaveValue(iso(last));
  // Navigation keeps the preset, not the dates.
  await page.getByRole('navigation', { name: 'Dashboards' }).getByRole('link', { name: 'Online' }).click();
  await expect(page).toHaveURL(/\/dept\/online\?preset=last_month/);
});
