import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CONSOLE_DIST } from '../../src/api/routes/console.js';
import { IN_CI, skipOrFail } from '../helpers/matrix.js';

/*
 * What the console's browser tests share: the build (made here when missing, except in CI, where the build step must
 * have made it), Debian's Chromium driven by playwright-core, axe-core run inside the page, and the screenshots.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Where the tests' screenshots go: docs/console (the pictures docs/console.md shows) when UPDATE_SCREENSHOTS=1, else a
 * temporary folder, so that a test run does not rewrite the committed pictures (ages and ids differ every run).
 */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/console') : join(tmpdir(), 'gale-console-screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds console/dist unless it is there; in CI its absence is a failure of the build step, said as such. */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(CONSOLE_DIST, 'index.html'))) return;
  if (IN_CI) {
    throw new Error(`CI=true and the console is not built (${CONSOLE_DIST} has no index.html): run \`npm run build\` before the tests`);
  }
  execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit' });
}

/** Why the browser tests cannot run here, or undefined; in CI a missing Chromium fails as well. Call it where tests are declared. */
export function browserUnavailable(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  return skipOrFail('Chromium', `no Chromium at ${CHROMIUM}: run scripts/install-chromium.sh`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Runs axe-core in the page. It is evaluated over the DevTools protocol rather than added as a <script>: the
 * console's CSP refuses inline scripts, and the test must not loosen it to look.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(`${AXE_SOURCE};void 0`);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`).join('\n');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
}
