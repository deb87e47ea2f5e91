import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readIfExists } from './instance-files.js';
import { runCommand } from './run-command.js';

/**
 * The modules the busybox guest loads: the power button (evdev + button, without which system_powerdown reaches no
 * one), the network card and the disk. Missing ones are tolerated except the first two: the guest boots without a
 * NIC, but a graceful stop would always end in a forced one.
 */
export const GUEST_MODULES = ['evdev', 'button', 'virtio_pci', 'virtio_net', 'virtio_blk'];
const REQUIRED = new Set(['evdev', 'button']);

export interface ModuleFile {
  name: string;
  /** Absolute path on the host, possibly compressed (.ko.xz, .ko.zst, .ko.gz). */
  path: string;
}

/** The name a module goes by: the file name without .ko and compression, with - read as _ as the kernel does. */
function moduleName(path: string): string {
  return basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/**
 * The modules to insmod, dependencies first, resolved from the kernel's modules.dep (busybox insmod resolves
 * nothing). Built-in ones are left out: the kernel has them already.
 */
export async function resolveModules(modulesDir: string, wanted: string[] = GUEST_MODULES): Promise<ModuleFile[]> {
  const depText = await readIfExists(join(modulesDir, 'modules.dep'));
  if (depText === undefined) throw new Error(`${modulesDir}/modules.dep is missing: install the kernel's modules (linux-image-cloud-amd64)`);
  const builtin = new Set(((await readIfExists(join(modulesDir, 'modules.builtin'))) ?? '').split('\n').filter(Boolean).map(moduleName));
  const deps = new Map<string, { path: string; needs: string[] }>();
  for (const line of depText.split('\n')) {
    const [file, rest] = line.split(':');
    if (!file || rest === undefined) continue;
    deps.set(moduleName(file), { path: join(modulesDir, file), needs: rest.trim().split(/\s+/).filter(Boolean).map(moduleName) });
  }
  const ordered: ModuleFile[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const entry = deps.get(name);
    if (!entry) return;
    // modules.dep lists a module's dependencies with the deepest last, as modprobe loads them in reverse.
    for (const need of [...entry.needs].reverse()) visit(need);
    ordered.push({ name, path: entry.path });
  };
  for (const name of wanted) {
    if (builtin.has(name)) continue;
    if (!deps.has(name) && REQUIRED.has(name)) {
      throw new Error(`kernel module ${name} is in neither ${modulesDir}/modules.dep nor modules.builtin; the guest could not be stopped gracefully`);
    }
    visit(name);
  }
  return ordered;
}

/** A module's bytes, uncompressed: busybox insmod loads only plain .ko files. */
export async function readModule(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return readFile(path);
  if (path.endsWith('.ko.gz')) return gunzipSync(await readFile(path));
  if (path.endsWith('.ko.xz')) return runCommand('xz', ['-dc', path]);
  if (path.endsWith('.ko.zst')) return runCommand('zstd', ['-dcq', path]);
  throw new Error(`kernel module ${path} is compressed in a form the image build cannot read`);
}
