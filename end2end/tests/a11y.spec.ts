// Accessibility: axe-core finds no serious or critical violation (WCAG 2.1 A and AA rules) on
// any view, in the light and the dark theme, hydrated and without JavaScript.
//
// axe is a script, so the no-js project scans the page the server rendered with scripts on but
// the application bundle blocked: the same document a browser without JavaScript shows.
//
// One rule is off on the TV view only: `meta-refresh`. Rotating views unattended on a wall
// screen is what TV mode is for, chosen in its URL (`seconds=`); no one fills in anything there.
import { test, expect, Page, BrowserContext } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { DEMO, signIn, ready } from './auth';
import { VIEWS, inLang } from './views';

async function violations(page: Page, disabled: string[] = []) {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .disableRules(disabled)
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('\n  ')}`);
}

for (const theme of ['light', 'dark']) {
  test(`no serious or critical violation on any view (${theme} theme)`, async ({ browser, baseURL }, info) => {
    test.setTimeout(300_000);
    const { context, page } = await scanner(browser, info.project.name, baseURL);
    await context.addCookies([{ name: 'omnikpi_theme', value: theme, url: baseURL! }]);
    await signIn(page, DEMO.admin);
    const found: string[] = [];
    for (const view of VIEWS) {
      for (const lang of ['en', 'it']) {
        await page.goto(inLang(view.path, lang));
        await ready(page, info.project.name === 'hydrated');
        await expect(page.locator('h1').first()).toBeVisible();
        const disabled = view.name === 'tv' ? ['meta-refresh'] : [];
        for (const v of await violations(page, disabled)) found.push(`${view.name} [${lang}]: ${v}`);
      }
    }
    await context.close();
    expect(found, found.join('\n')).toEqual([]);
  });
}

test('no serious or critical violation on the sign-in page', async ({ browser, baseURL }, info) => {
  const { context, page } = await scanner(browser, info.project.name, baseURL);
  for (const lang of ['en', 'it']) {
    await page.goto(`/login?lang=${lang}`);
    await ready(page, info.project.name === 'hydrated');
    expect(await violations(page)).toEqual([]);
  }
  await context.close();
});

/** A page axe can run in: for the no-js project, one whose application bundle never loads. */
async function scanner(browser: any, project: string, baseURL?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context: BrowserContext = await browser.newContext({ baseURL, javaScriptEnabled: true });
  if (project !== 'hydrated') {
    await context.route(/\/pkg\/.*\.(js|wasm)$/, (route) => route.abort());
  }
  return { context, page: await context.newPage() };
}
