import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axe from 'axe-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS } from '../support/service';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The machine's Chromium with a throwaway profile (as the dashboard's test runs it). */
export class PortalBrowser {
  private constructor(
    readonly context: BrowserContext,
    private readonly userDataDir: string,
  ) {}

  static async launch(): Promise<PortalBrowser> {
    const userDataDir = mkdtempSync(join(tmpdir(), 'hookstream-portal-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 900 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    return new PortalBrowser(context, userDataDir);
  }

  /** A new tab collecting uncaught page errors. */
  async newPage(): Promise<{ page: Page; pageErrors: string[] }> {
    const page = await this.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return { page, pageErrors };
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.userDataDir, { recursive: true, force: true });
  }
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * axe-core over the page as it stands; the serious and critical violations, described. Evaluated
 * through the DevTools protocol, which the page's CSP (script-src 'self') does not apply to.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const violations = await page.evaluate<AxeViolation[]>('axe.run().then((results) => results.violations)');
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes
          .map((node) => JSON.stringify(node.target))
          .join(', ')}`,
    );
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS, `portal-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
