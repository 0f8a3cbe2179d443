// Signing in from the specs: the demo accounts (created by `omnikpi demo`, listed in the
// README) and a sign-in through the real form, which works with and without JavaScript.
import { expect, Page } from '@playwright/test';

export const DEMO = {
  admin: { email: 'admin@demo.omnikpi.test', password: 'demo-admin-2026' },
  executive: { email: 'ceo@demo.omnikpi.test', password: 'demo-executive-2026' },
  marketingLead: { email: 'marketing@demo.omnikpi.test', password: 'demo-marketing-2026' },
  storesLead: { email: 'stores@demo.omnikpi.test', password: 'demo-stores-2026' },
  cx: { email: 'cx@demo.omnikpi.test', password: 'demo-cx-officer-2026' },
  viewer: { email: 'viewer@demo.omnikpi.test', password: 'demo-viewer-2026' },
};

export type Account = { email: string; password: string };

/** Signs in through the form at /login (optionally asking for `next`). */
export async function signIn(page: Page, account: Account, next?: string) {
  watch(page);
  const target = next ? `/login?lang=en&next=${encodeURIComponent(next)}` : '/login?lang=en';
  await page.goto(target);
  await page.getByLabel('E-mail').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).not.toHaveURL(/\/login/);
}

const browserLogs = new WeakMap<Page, string[]>();

/** Records what the browser reports (script errors, failed requests) for [`ready`]'s message. */
export function watch(page: Page) {
  if (browserLogs.has(page)) return;
  const logs: string[] = [];
  browserLogs.set(page, logs);
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') logs.push(`console: ${m.text()}`); });
  page.on('requestfailed', (r) => logs.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
}

/** Waits until the browser bundle has taken over the page (hydrated project only). */
export async function ready(page: Page, hydrated: boolean) {
  if (!hydrated) return;
  try {
    await expect(page.locator('#app')).toHaveAttribute('data-hydrated', 'true', { timeout: 20_000 });
  } catch (e) {
    const logs = (browserLogs.get(page) ?? []).join('\n');
    throw new Error(`the page did not hydrate; the browser reported:\n${logs}\n${e}`);
  }
}
