// Accessibility: axe-core finds no serious or critical violation (WCAG 2.1 A and AA rules) on
// any view, in the light and the dark theme, hydrated and without JavaScript.
import { test, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { DEMO, signIn, ready } from './auth';
import { VIEWS, inLang } from './views';

async function violations(page: Page) {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('\n  ')}`);
}

for (const theme of ['light', 'dark']) {
  test(`no serious or critical violation on any view (${theme} theme)`, async ({ page, context, baseURL }, info) => {
    test.setTimeout(240_000);
    await context.addCookies([{ name: 'omnikpi_theme', value: theme, url: baseURL! }]);
    await signIn(page, DEMO.admin);
    const found: string[] = [];
    for (const view of VIEWS) {
      for (const lang of ['en', 'it']) {
        await page.goto(inLang(view.path, lang));
        await ready(page, info.project.name === 'hydrated');
        await expect(page.locator('h1').first()).toBeVisible();
        for (const v of await violations(page)) found.push(`${view.name} [${lang}]: ${v}`);
      }
    }
    expect(found, found.join('\n')).toEqual([]);
  });
}

test('no serious or critical violation on the sign-in page', async ({ page }, info) => {
  for (const lang of ['en', 'it']) {
    await page.goto(`/login?lang=${lang}`);
    await ready(page, info.project.name === 'hydrated');
    expect(await violations(page)).toEqual([]);
  }
});
