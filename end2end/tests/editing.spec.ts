// Changes people make from the dashboards, and links they share, on the demo data set:
// a lead's target survives a reload, a note on a KPI shows on its chart and in its list, the
// department's tiles are the API's numbers, and a copied link shows another user the same view.
import { test, expect } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

const JUNE = 'from=2026-06-01&to=2026-06-30';

test('a lead sets a target on the department page and sees it after a reload', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.storesLead);
  await page.goto(`/dept/stores?${JUNE}&lang=en`);
  await ready(page, hydrated);
  // Each project edits its own KPI, so the two runs never overwrite each other.
  const form = page.locator('form.target-form').nth(hydrated ? 0 : 1);
  const kpi = await form.locator('input[name="kpi"]').getAttribute('value');
  const value = String(1000 + Math.floor(Math.random() * 8000));
  await form.getByLabel('Period').fill('2026-06');
  await form.getByLabel(/^Target value/).fill(value);
  // The form posts and the answer redirects back to this page: the same URL, so wait for the
  // new page to load before reloading (a reload during that navigation aborts it).
  await Promise.all([
    page.waitForEvent('load'),
    form.getByRole('button', { name: 'Save target' }).click(),
  ]);
  await expect(page).toHaveURL(/\/dept\/stores/);
  await page.reload();
  await ready(page, hydrated);
  const again = page.locator('form.target-form').filter({ has: page.locator(`input[name="kpi"][value="${kpi}"]`) });
  await expect(again.getByLabel('Period')).toHaveValue('2026-06');
  await expect(again.locator('.current')).toContainText('2026-06');
  const tile = page.locator(`[data-kpi="${kpi}"] .kpi-target`);
  await expect(tile).toContainText('2026-06');
  // The API has it too.
  const targets = await (await page.request.get('/api/v1/targets')).json();
  const list = Array.isArray(targets) ? targets : targets.targets;
  const saved = list.find((t: any) => t.kpi === kpi && t.department === 'stores' && t.period === '2026-06');
  expect(saved, JSON.stringify(list).slice(0, 500)).toBeTruthy();
  const typed = Number((await again.getByLabel(/^Target value/).inputValue()).replace(/,/g, ''));
  expect(saved.value === Number(value) || saved.value * 100 === Number(value) || typed === Number(value)).toBe(true);
});

test('a note on a KPI appears on its chart and in its list', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.executive);
  await page.goto(`/kpi/gross_revenue?${JUNE}&lang=en`);
  await ready(page, hydrated);
  const text = `Flyer in the stores ${info.project.name} ${Date.now()}`;
  const add = page.locator('form.note-add');
  await add.getByLabel('Date').fill('2026-06-10');
  await add.getByLabel('Note').fill(text);
  await add.getByRole('button', { name: 'Add a note' }).click();
  await expect(page).toHaveURL(/\/kpi\/gross_revenue/);
  await ready(page, hydrated);
  const items = page.locator('.annotations li');
  await expect(items.filter({ hasText: text })).toHaveCount(1);
  // Its number in the list is the marker drawn on the chart at 10 June.
  const texts = await items.allInnerTexts();
  const n = texts.findIndex((t) => t.includes(text)) + 1;
  expect(n).toBeGreaterThan(0);
  const svg = await page.locator('.series .chart-svg').innerHTML();
  // plotters writes a text's content on its own line (`>\n 3\n</text>`); the marker's number is
  // drawn in the markers' grey, which no axis label uses.
  expect(svg).toMatch(new RegExp(`fill="#5A5A5A"[^>]*>\\s*${n}\\s*</text>`, 'i'));
  await expect(page.locator('.series-table tbody tr').nth(9)).toContainText(text);
});

test('the department tiles show the values the API computes for the same URL', async ({ page }, info) => {
  await signIn(page, DEMO.executive);
  await page.goto(`/dept/stores?${JUNE}&channel=store`);
  await ready(page, info.project.name === 'hydrated');
  const tiles = page.locator('.kpi-tile');
  const keys = await tiles.evaluateAll((els) => els.map((e) => e.getAttribute('data-kpi')!));
  expect(keys.length).toBeGreaterThan(2);
  const body = await (await page.request.get(`/api/v1/kpis?${JUNE}&channel=store&kpi=${keys.join(',')}`)).json();
  for (const k of body.kpis) {
    await expect(page.locator(`[data-kpi="${k.key}"] .kpi-value`)).toHaveAttribute('data-value', String(k.value));
  }
});

test('a shared link shows another user the same view', async ({ page, browser }, info) => {
  const hydrated = info.project.name === 'hydrated';
  const url = `/kpi/orders?${JUNE}&grain=week&compare=last_year&channel=web&lang=it`;
  await signIn(page, DEMO.executive);
  await page.goto(url);
  await ready(page, hydrated);
  const mine = await page.locator('.series-table').innerText();
  const value = await page.locator('.kpi-summary .kpi-value').getAttribute('data-value');
  // A colleague opens the copied link in their own browser.
  const other = await browser.newContext({ javaScriptEnabled: hydrated });
  const theirs = await other.newPage();
  await signIn(theirs, DEMO.admin, url);
  await expect(theirs).toHaveURL(/\/kpi\/orders\?.*grain=week/);
  await ready(theirs, hydrated);
  await expect(theirs.locator('.kpi-summary .kpi-value')).toHaveAttribute('data-value', value!);
  expect(await theirs.locator('.series-table').innerText()).toBe(mine);
  await expect(theirs.getByLabel('Canale', { exact: true })).toHaveValue('web');
  await expect(theirs.locator('html')).toHaveAttribute('lang', 'it');
  await other.close();
});
