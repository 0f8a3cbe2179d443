// Playwright drives Debian's chromium (never a downloaded browser) against the real server on
// the demo data set. Every spec runs twice: hydrated, and with JavaScript disabled.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.OMNIKPI_E2E_PORT ?? 3100);
const bin = process.env.OMNIKPI_BIN ?? `${process.env.HOME}/.cache/omnikpi/target/debug/omnikpi`;
const db = process.env.OMNIKPI_E2E_DB ?? 'data/e2e.duckdb';

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results/artifacts',
  timeout: 30_000,
  retries: 0,
  workers: 2,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'hydrated', use: { javaScriptEnabled: true } },
    { name: 'no-js', use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: `${bin} --db ${db} serve --addr 127.0.0.1:${port}`,
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
