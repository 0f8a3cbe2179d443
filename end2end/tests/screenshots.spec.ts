// Screenshots of every view at 1280 px and 360 px, in English and Italian, saved as artefacts
// under end2end/test-results/screenshots/<project>/<view>-<width>-<lang>.png for a person to
// look at. The run also checks what a person would see first: nothing wider than the screen,
// and no English label left on an Italian page.
import { test, expect } from '@playwright/test';
import * as path from 'path';
import { DEMO, signIn, ready } from './auth';
import { VIEWS, inLang } from './views';

const DIR = path.join(__dirname, '..', 'test-results', 'screenshots');

// Words of the English UI that must not appear on an Italian page.
const ENGLISH = ['Company overview', 'Download CSV', 'Sign out', 'Apply', 'Target value', 'Notes'];

test('every view at 1280 and 360 px, in English and Italian', async ({ page }, info) => {
  test.setTimeout(300_000);
  await signIn(page, DEMO.admin);
  const views = [...VIEWS, { name: 'login', path: '/login?' }];
  for (const view of views) {
    for (const width of [1280, 360]) {
      for (const lang of ['en', 'it']) {
        await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
        if (view.name === 'login') await page.context().clearCookies();
        await page.goto(inLang(view.path, lang));
        await ready(page, info.project.name === 'hydrated');
        const file = path.join(DIR, info.project.name, `${view.name}-${width}-${lang}.png`);
        await page.screenshot({ path: file, fullPage: true });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect.soft(overflow, `${view.name} at ${width} px in ${lang} fits the screen`).toBeLessThanOrEqual(0);
        if (lang === 'it') {
          const text = await page.locator('body').innerText();
          for (const word of ENGLISH) {
            expect.soft(text.includes(word), `"${word}" on ${view.name} in Italian`).toBe(false);
          }
        }
      }
    }
  }
});

// The dark theme (as the system asks for it) on the views with charts and tiles, where colours
// matter most: end2end/test-results/screenshots/<project>/<view>-<width>-<lang>-dark.png.
test('the chart views in the dark theme at 1280 and 360 px', async ({ page }, info) => {
  test.setTimeout(300_000);
  await signIn(page, DEMO.admin);
  await page.emulateMedia({ colorScheme: 'dark' });
  const names = ['company', 'dept-stores', 'dept-online', 'kpi-detail', 'journeys'];
  for (const view of VIEWS.filter((v) => names.includes(v.name))) {
    for (const width of [1280, 360]) {
      for (const lang of ['en', 'it']) {
        await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
        await page.goto(inLang(view.path, lang));
        await ready(page, info.project.name === 'hydrated');
        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        expect.soft(background, `${view.name} is dark`).toBe('rgb(20, 23, 29)');
        const file = path.join(DIR, info.project.name, `${view.name}-${width}-${lang}-dark.png`);
        await page.screenshot({ path: file, fullPage: true });
      }
    }
  }
});
