import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why a browser test cannot run, or null. Callers fail the test with this message: a missing
 * browser is never a silent pass (with or without CI=true), it says loudly what to install.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return `Chromium is not installed at ${CHROMIUM}: the browser suite cannot run. Install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does)${process.env.CI === 'true' ? ' [CI=true]' : ''}.`;
}

/** A headless Chromium with a fresh user-data-dir of its own (no state shared between tests). */
export async function launchFresh(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-e2e-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // Loopback only: the AS's development pages ask for web fonts, which are not fetched.
  await context.route((url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname), (route) => route.abort());
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(30_000);
  return {
    context,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
