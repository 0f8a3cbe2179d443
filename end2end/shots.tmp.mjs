import { chromium } from '@playwright/test';
const base = 'http://127.0.0.1:3200';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
async function shot(account, password, path, file, width = 1280) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${base}/login?lang=en`);
  await page.getByLabel('E-mail').fill(account);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: /Sign in|Accedi/ }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.goto(base + path);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: file, fullPage: true });
  await page.close();
}
await shot('marketing@demo.omnikpi.test', 'demo-marketing-2026', '/dept/marketing?from=2026-06-01&to=2026-06-30&lang=it', '/tmp/shots/marketing-it.png');
await shot('ceo@demo.omnikpi.test', 'demo-executive-2026', '/?from=2026-06-01&to=2026-06-30&lang=en', '/tmp/shots/company-en.png');
await shot('ceo@demo.omnikpi.test', 'demo-executive-2026', '/kpi/email_open_rate?from=2026-06-01&to=2026-06-30&lang=en', '/tmp/shots/kpi-open-rate.png');
await shot('admin@demo.omnikpi.test', 'demo-admin-2026', '/admin/departments?lang=en', '/tmp/shots/admin-departments.png');
await shot('ceo@demo.omnikpi.test', 'demo-executive-2026', '/journeys/pain/non_shoppable_landing?from=2026-06-01&to=2026-06-30&lang=en', '/tmp/shots/pain-june.png');
await browser.close();
