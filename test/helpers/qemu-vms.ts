// What the qemu provider's tests need besides the provider: ways to wait on VMs and look at their processes (whether
// this host can run VMs at all is the descriptor's probe: providerProblem('qemu') in ./matrix.ts).
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

/** Polls until check holds; generous by default, since a busy CI host emulates slowly. Asserts only that it came. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The command line of a live process, or undefined when there is none by that pid (a zombie has an empty one). */
export function commandLine(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text === '' ? undefined : text.split('\0');
  } catch {
    return undefined;
  }
}
