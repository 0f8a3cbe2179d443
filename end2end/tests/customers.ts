// Finding a customer from the specs: the 360's search is a form post (with the anti-forgery
// token) that lands on /customer/{id}, so identifiers never appear in URLs.
import { Page } from '@playwright/test';
import { ready } from './auth';

/** Searches the customer 360 for `identifier` through the form; the page ends where it lands. */
export async function searchCustomer(page: Page, identifier: string, hydrated: boolean) {
  await page.goto('/customer?lang=en');
  await ready(page, hydrated);
  await page.getByLabel(/E-mail, phone, loyalty card/).fill(identifier);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForLoadState('load');
}
