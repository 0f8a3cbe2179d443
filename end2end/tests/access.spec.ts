// Signing in as each demo role: where each lands, what each may open, and what is refused.
// Runs hydrated and without JavaScript, like every spec.
import { test, expect } from '@playwright/test';
import { DEMO, Account, signIn } from './auth';

// Each role lands on the view of its work: [name, account, is admin, landing page].
const ROLES: [string, Account, boolean, RegExp][] = [
  ['admin', DEMO.admin, true, /\/\?lang=en$/],
  ['executive', DEMO.executive, false, /\/\?lang=en$/],
  ['stores lead', DEMO.storesLead, false, /\/dept\/stores\?lang=en$/],
  ['cx officer', DEMO.cx, false, /\/journeys\?lang=en$/],
  ['viewer', DEMO.viewer, false, /\/\?lang=en$/],
];

test('an anonymous visitor is sent to sign in and comes back where they wanted', async ({ page }) => {
  await page.goto('/?from=2026-06-01&to=2026-06-30&lang=en');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel('E-mail').fill(DEMO.executive.email);
  await page.getByLabel('Password').fill(DEMO.executive.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/from=2026-06-01/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Company overview');
});

test('a wrong password is refused with the same message as an unknown account', async ({ page }) => {
  for (const email of [DEMO.executive.email, 'nobody@demo.omnikpi.test']) {
    await page.goto('/login?lang=en');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill('certainly not it');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('E-mail or password is wrong.');
  }
});

for (const [name, account, isAdmin, landing] of ROLES) {
  test(`the ${name} lands on the view of their work and sees only what the role allows`, async ({ page }) => {
    await signIn(page, account);
    await expect(page).toHaveURL(landing);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    const adminLink = page.getByRole('link', { name: /Administration|Amministrazione/ });
    await expect(adminLink).toHaveCount(isAdmin ? 1 : 0);
    const response = await page.goto('/admin/users?lang=en');
    if (isAdmin) {
      expect(response?.status()).toBe(200);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');
      await expect(page.locator('table.data tbody tr')).toHaveCount(6);
    } else {
      expect(response?.status()).toBe(403);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('You do not have access to this page');
      await expect(page.getByRole('link', { name: 'Back to the company overview' })).toBeVisible();
    }
  });
}

test('signing out ends the session', async ({ page }) => {
  await signIn(page, DEMO.viewer);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/?lang=en');
  await expect(page).toHaveURL(/\/login\?next=/);
});

test('the admin pages work as forms: settings are validated and audited', async ({ page }, info) => {
  await signIn(page, DEMO.admin);
  await page.goto('/admin/settings?lang=en');
  const margin = page.getByLabel('clv_margin');
  await margin.fill('5');
  await page.locator('form.setting', { has: margin }).getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText('clv_margin');
  await page.goto('/admin/audit?lang=en');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Audit log');
  await page.setViewportSize({ width: 360, height: 780 });
  await page.goto('/admin/users?lang=en');
  await page.screenshot({ path: info.outputPath(`admin-users-360-${info.project.name}.png`), fullPage: true });
});
