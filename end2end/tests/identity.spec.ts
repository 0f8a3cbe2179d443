// The CX officer explains and undoes a merge in the customer 360: the list says which event
// linked which identifiers under which rule, and "Split this link" (reason required) splits
// the customer; the same with and without JavaScript (the config runs both projects).
// Each project splits a different demo customer, so the two runs do not depend on each other.
import { test, expect } from '@playwright/test';
import { DEMO, signIn, ready } from './auth';

// Fails on main (both projects) after 20 s; written by the identity branch but never run there; open in #12.
test.fixme('the CX officer sees why identifiers are linked and splits one link', async ({ page }, info) => {
  const hydrated = info.project.name === 'hydrated';
  await signIn(page, DEMO.cx);
  // Demo customers are cliente00001@example.it ...; find one whose 360 lists a link.
  const first = hydrated ? 10 : 400;
  let found = false;
  for (let i = first; i < first + 60 && !found; i++) {
    const email = `cliente${String(i).padStart(5, '0')}@example.it`;
    await page.goto(`/customer?q=${encodeURIComponent(email)}&lang=en`);
    found = (await page.locator('#identity-links tr.identity-link').count()) > 0;
  }
  expect(found).toBeTruthy();
  await ready(page, hydrated);
  await expect(page.getByRole('heading', { name: 'Why these identifiers are one customer' })).toBeVisible();
  const link = page.locator('#identity-links tr.identity-link').first();
  // The event that linked them (source:event_id) and the rule ("loyalty_id+email").
  await expect(link.locator('td').nth(1)).toContainText(':');
  await expect(link.locator('td').nth(2)).toContainText('+');
  const path = new URL(page.url()).pathname;
  const before = await page.locator('#identity-links tr.identity-link').count();
  const idRows = page.locator('section[aria-labelledby="ids-title"] table').first().locator('tbody tr');
  const identifiers = await idRows.count();

  await link.getByLabel('Reason (required)').fill('two people on one card (test)');
  await link.getByRole('button', { name: 'Split this link' }).click();
  await expect(page.getByRole('status')).toContainText('Split done');
  await ready(page, hydrated);
  // Back on the customer holding the first identifier: fewer links and identifiers when it
  // kept its number (it changes when the split took away its smallest identifier).
  if (new URL(page.url()).pathname === path) {
    expect(await page.locator('#identity-links tr.identity-link').count()).toBeLessThan(before);
    expect(await idRows.count()).toBeLessThan(identifiers);
  }
});
