// Live refresh, TV mode and the theme switch on the demo data set.
// - An open company view picks up events sent through the ingest API without a reload
//   (hydrated: its live-refresh island polls the data version and swaps in the page's new
//   content, never while the user is typing in a form; without JavaScript a reload does it).
// - TV mode rotates through the views named in its URL with a meta refresh (works without
//   JavaScript) and shows the same values as the API.
// - The theme switch is a plain link remembered in a cookie.
import { test, expect } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

// April 2026: no other spec reads it, so the events sent here change nobody else's numbers.
const APRIL = 'from=2026-04-01&to=2026-04-30';

async function apiGross(request: any, query: string): Promise<number> {
  const body = await (await request.get(`/api/v1/kpis?${query}&kpi=gross_revenue`)).json();
  return body.kpis[0].value as number;
}

test('an open company view shows new events without a reload, not while the user types', async ({ page, request }, info) => {
  test.skip(info.project.name !== 'hydrated', 'without JavaScript a page changes only on reload');
  test.setTimeout(60_000);
  await signIn(page, DEMO.admin);
  // The webshop's token, created as an administrator would (Administration → API tokens).
  const name = `e2e-live-${Date.now()}`;
  await page.goto('/admin/tokens?lang=en');
  await page.locator('form[action="/admin/tokens/create"] input[name="name"]').fill(name);
  await page.locator('form[action="/admin/tokens/create"] select[name="role"]').selectOption('ingest');
  await page.locator('form[action="/admin/tokens/create"] button[type="submit"]').click();
  const token = (await page.locator('.secret').innerText()).trim();
  expect(token).toMatch(/^okpi_/);
  await page.goto(`/?${APRIL}&lang=en`);
  await ready(page, true);
  await page.evaluate(() => ((window as any).__stillHere = true));
  const tile = page.locator('[data-kpi="gross_revenue"] .kpi-value');
  const before = Number(await tile.getAttribute('data-value'));
  expect(before).toBeGreaterThan(0);
  // The user is typing a date: the refresh waits, so nothing typed is lost.
  await page.getByLabel('From', { exact: true }).focus();
  const id = `${name}-1`;
  const event = {
    event_id: id, occurred_at: '2026-04-15T10:00:00+02:00', event_type: 'purchase',
    channel: 'web', amount: 1000, order_id: id,
  };
  const sent = await request.post('/api/v1/events', {
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
    data: JSON.stringify(event) + '\n',
  });
  expect(sent.status(), await sent.text()).toBe(200);
  const after = await apiGross(page.request, APRIL);
  expect(after).toBeCloseTo(before + 1000, 6);
  // Two polls later the content is still the one the user is typing in.
  await page.waitForTimeout(11_000);
  await expect(tile).toHaveAttribute('data-value', String(before));
  // Leaving the field lets the island refresh the content: the new value, the same view.
  await page.getByLabel('From', { exact: true }).blur();
  await expect(tile).toHaveAttribute('data-value', String(after), { timeout: 20_000 });
  // Same page, same view: nothing reloaded and the URL kept the user's state.
  expect(await page.evaluate(() => (window as any).__stillHere)).toBe(true);
  await expect(page).toHaveURL(new RegExp(APRIL));
});

test('TV mode shows the API values in large type and rotates by itself', async ({ page }) => {
  test.setTimeout(60_000);
  await signIn(page, DEMO.executive);
  const url = `/tv?views=company,dept/stores&seconds=10&${APRIL}&lang=it`;
  await page.goto(url);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Panoramica aziendale');
  await expect(page.locator('.topbar')).toHaveCount(0);
  const refresh = await page.locator('meta[http-equiv="refresh"]').getAttribute('content');
  expect(refresh).toMatch(/^10;url=\/tv\?/);
  expect(refresh).toContain('i=1');
  const value = page.locator('[data-kpi="gross_revenue"] .kpi-value');
  await expect(value).toHaveAttribute('data-value', String(await apiGross(page.request, APRIL)));
  // Large type: the value is far bigger than on the company page.
  const size = await value.evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  expect(size).toBeGreaterThan(40);
  // The refresh moves on to the stores view by itself.
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Negozi', { timeout: 20_000 });
  await expect(page).toHaveURL(/i=1/);
  await expect(page.locator('[data-kpi="store_orders"]')).toHaveCount(1);
});

test('the theme switch is remembered and follows the system by default', async ({ page }, info) => {
  await signIn(page, DEMO.executive);
  await page.goto(`/?${APRIL}`);
  await ready(page, info.project.name === 'hydrated');
  await expect(page.locator('body')).toHaveAttribute('data-theme', 'auto');
  const themes = page.getByRole('navigation', { name: 'Theme' });
  await themes.getByRole('link', { name: 'Dark' }).click();
  await expect(page).toHaveURL(new RegExp(`/\\?${APRIL}`));
  await expect(page.locator('body')).toHaveAttribute('data-theme', 'dark');
  const background = await page.locator('body').evaluate((e) => getComputedStyle(e).backgroundColor);
  expect(background).toBe('rgb(20, 23, 29)');
  await page.goto('/dept/stores?lang=it');
  await expect(page.locator('body')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('navigation', { name: 'Tema' }).getByRole('link', { name: 'Scuro' }))
    .toHaveAttribute('aria-current', 'true');
  await page.getByRole('navigation', { name: 'Tema' }).getByRole('link', { name: 'Chiaro' }).click();
  await expect(page.locator('body')).toHaveAttribute('data-theme', 'light');
  await expect(page).toHaveURL(/\/dept\/stores\?lang=it/);
});

test('hovering or focusing a chart point shows its value', async ({ page }, info) => {
  test.skip(info.project.name !== 'hydrated', 'the tooltip is added by the chart island; without it the data table holds the values');
  await signIn(page, DEMO.executive);
  await page.goto(`/kpi/gross_revenue?from=2026-06-01&to=2026-06-30&lang=en`);
  await ready(page, true);
  const chart = page.locator('.series .chart-svg');
  // Each point is sent once: its position in the chart, its label and value in the table.
  const xy = (await chart.locator('g.points').getAttribute('data-xy'))!.split(' ');
  expect(xy).toHaveLength(30);
  const rows = page.locator('.series-table tbody tr');
  await expect(rows).toHaveCount(30);
  const cell = async (row: number, column: number) =>
    ((await rows.nth(row).locator('td').nth(column).textContent()) ?? '').trim();
  // The period (first column) and this period's value (fourth column) of a row.
  const text = async (row: number) => `${await cell(row, 0)}: ${await cell(row, 3)}`;
  expect(await cell(0, 3)).toMatch(/^€[\d,]+\.\d\d$/);
  const box = (await chart.boundingBox())!;
  const drawn = Number(await chart.locator('svg').first().getAttribute('width'));
  const scale = box.width / drawn;
  const [x0, y0] = xy[0].split(',').map(Number);
  await chart.hover({ position: { x: x0 * scale + 1, y: y0 * scale } });
  const tip = page.locator('.series .chart-tip');
  await expect(tip).toBeVisible();
  await expect(tip).toHaveText(await text(0));
  // The marker sits on the point shown.
  const marker = chart.locator('circle.pt.active');
  await expect(marker).toHaveAttribute('cx', String(x0));
  await expect(marker).toHaveAttribute('cy', String(y0));
  // Leaving the chart hides it; keyboard focus shows the last point, the arrows move.
  await page.mouse.move(0, 0);
  await expect(tip).toBeHidden();
  await chart.focus();
  await expect(tip).toHaveText(await text(29));
  await page.keyboard.press('Home');
  await expect(tip).toHaveText(await text(0));
  await page.keyboard.press('ArrowRight');
  await expect(tip).toHaveText(await text(1));
  await page.keyboard.press('Escape');
  await expect(tip).toBeHidden();
});
