// Derived KPIs on the demo data: an admin adds one (the ratio of two KPIs) on the KPI
// ownership page with plain forms, the API computes it as the ratio of its parts, the owner
// department's page shows its tile, and the admin deletes it again. Each project uses its own
// key and the logistics view, which no other spec counts tiles on.
import { test, expect } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

const JUNE = 'from=2026-06-01&to=2026-06-30';

test('an admin adds a derived KPI, its department shows it, and the admin deletes it', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  const key = hydrated ? 'e2e_revenue_per_visit_h' : 'e2e_revenue_per_visit_n';
  await signIn(page, DEMO.admin);
  await page.goto('/admin/kpis?lang=en');
  await ready(page, hydrated);
  const add = page.locator('#derived form').last();
  await add.getByLabel('Key').fill(key);
  await add.getByLabel('Name (English)').fill('Revenue per store visit (e2e)');
  await add.getByLabel('Name (Italian)').fill('Ricavi per visita (e2e)');
  await add.getByLabel('Numerator').selectOption('store_revenue');
  await add.getByLabel('Denominator').selectOption('footfall');
  await add.getByLabel('Unit').selectOption('money');
  await add.getByRole('combobox', { name: 'Owner department' }).selectOption('logistics');
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(page).toHaveURL(/\/admin\/kpis\?ok=created/);
  await expect(page.locator(`li.derived-kpi[data-kpi="${key}"]`)).toHaveCount(1);

  // The API computes it as store revenue over footfall, for the same period.
  const api = await (await page.request.get(`/api/v1/kpis?${JUNE}&kpi=${key},store_revenue,footfall`)).json();
  const [derived, revenue, footfall] = api.kpis;
  expect(footfall.value).toBeGreaterThan(0);
  expect(derived.value).toBeCloseTo(revenue.value / footfall.value, 6);

  await page.goto(`/dept/logistics?${JUNE}&lang=en`);
  await ready(page, hydrated);
  await expect(page.locator(`.kpi-tile[data-kpi="${key}"]`)).toBeVisible();

  await page.goto('/admin/kpis?lang=en');
  await ready(page, hydrated);
  const row = page.locator(`li.derived-kpi[data-kpi="${key}"]`);
  await row.locator('summary').click();
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/admin\/kpis\?ok=deleted/);
  await expect(page.locator(`li.derived-kpi[data-kpi="${key}"]`)).toHaveCount(0);
});
