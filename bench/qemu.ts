/*
 * npx tsx bench/qemu.ts (after npm run build; QEMU from scripts/install-qemu.sh): what Gale adds to a VM's boot, and
 * how many tiny VMs this machine holds. Every figure is a ratio to a baseline measured in the same run.
 *
 *   1. Boot: the same image launched with qemu-system-x86_64 directly, with the very command line the provider uses
 *      (baseline), from the spawn to the guest's boot banner on its console; against a create through Gale's API
 *      (`gale serve`, qemu provider), from the POST to the banner in serialPortOutput, and to RUNNING. Both sides are
 *      polled every 20 ms; runs alternate, BENCH_BOOTS (default 5) each; medians.
 *   2. Capacity: BENCH_VMS (default 8) tiny VMs booted with qemu directly and left idle; the CPU time all their QEMU
 *      processes use a second (from /proc/<pid>/stat, all threads) and their resident memory, for how many idle VMs
 *      two cores and this machine's memory would hold.
 *
 * The accelerator is TCG unless BENCH_ACCEL=kvm: on the hosts this is written on, a guest hangs under KVM.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { DEFAULT_TIERS } from '../src/config/default-tiers.js';
import { BOOT_BANNER, buildVmBaseImage, instanceFiles, QEMU_DEFAULTS, vmLabel } from '../src/providers/qemu/index.js';
import { qemuArgs } from '../src/providers/qemu/qemu-args.js';
import { vmImageFiles } from '../src/providers/qemu/vm-images.js';
import { spawnVm } from '../src/providers/qemu/vm-process.js';
import { cpuSecondsOf, freePort, startChild } from './lib/processes.js';
import { seed } from './lib/seed.js';
import { instanceSpec } from '../src/domain/instance-spec.js';

const V1 = '/api/compute/v1';
const BOOTS = Number(process.env.BENCH_BOOTS ?? 5);
const VMS = Number(process.env.BENCH_VMS ?? 8);
const ACCEL = (process.env.BENCH_ACCEL ?? 'tcg') as 'tcg' | 'kvm';
const IMAGE = 'gale-busybox-vm';
const POLL_MS = 20;
const WINDOW_MS = 10_000;
const TIERS = { ...DEFAULT_TIERS, bench: { name: 'bench', requestsPerMinute: 100_000, maxInstances: 1_000, maxVcpus: 10_000, maxDiskGb: 100_000 } };
// The spec the busybox-micro template gives: e2-micro, 10 GB.
const SPEC = { userId: 'bench', zone: 'us-central1-a', templateId: 'busybox-micro', image: IMAGE, machineType: 'e2-micro', vcpus: 2, memoryMb: 1024, diskGb: 10, spec: instanceSpec() };

const work = mkdtempSync(join('/tmp', 'gale-bench-qemu-'));
const imagesDir = join(work, 'images');
await buildVmBaseImage({ outputDir: imagesDir });
const image = vmImageFiles(imagesDir, IMAGE);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const pad = (n: number) => String(n).padStart(8, '0');

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** A VM as the provider would launch it, without Gale: overlay, command line, spawn. Returns its pid once booted. */
let direct = 0;
async function launchDirect(): Promise<{ ms: number; pid: number; dir: string }> {
  const instanceId = `tw-bench0-${pad(direct++)}`;
  const files = instanceFiles(join(work, 'direct'), instanceId);
  mkdirSync(files.dir, { recursive: true });
  const started = performance.now();
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.baseDisk, '-F', 'qcow2', files.disk, `${SPEC.diskGb}G`]);
  const args = qemuArgs({ spec: { ...SPEC, instanceId }, label: vmLabel('bench', instanceId), files, image, accelerator: ACCEL, sizing: QEMU_DEFAULTS });
  const vm = await spawnVm('qemu-system-x86_64', args, files);
  await until('the banner (direct)', () => (existsSync(files.console) && readFileSync(files.console, 'utf8').includes(BOOT_BANNER) ? true : undefined));
  return { ms: performance.now() - started, pid: vm.pid, dir: files.dir };
}

function stopDirect(vm: { pid: number; dir: string }): void {
  try {
    process.kill(vm.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  rmSync(vm.dir, { recursive: true, force: true });
}

// Gale, as a server process with the qemu provider.
const dataDir = join(work, 'gale');
mkdirSync(dataDir);
const configFile = join(work, 'gale.json');
writeFileSync(configFile, JSON.stringify({ tiers: TIERS, providers: { qemu: { accel: ACCEL, imagesDir, network: 'user' } } }));
const seeded = await seed(dataDir, TIERS, 1, 0);
const auth = { authorization: `Bearer ${seeded.users[0]!.token}` };
const port = await freePort();
const gale = await startChild(['dist/cli/gale.js', 'serve'], { GALE_PORT: String(port), GALE_DATA_DIR: dataDir, GALE_CONFIG: configFile, GALE_BOOTSTRAP: 'false', GALE_PROVIDER: 'qemu' }, port, '/readyz');

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${gale.url}${V1}${path}`, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as T };
}

async function createThroughGale(): Promise<{ toRunning: number; toBanner: number; id: string }> {
  const started = performance.now();
  const made = await api<{ id: string }>('POST', '/instances', { template_id: 'busybox-micro' });
  if (made.status !== 201) throw new Error(`create answered ${made.status}`);
  const id = made.body.id;
  let toRunning: number | undefined;
  const toBanner = await until('the banner (Gale)', async () => {
    if (toRunning === undefined && (await api<{ status: string }>('GET', `/instances/${id}`)).body.status === 'RUNNING') toRunning = performance.now() - started;
    const console = await api<{ contents: string }>('GET', `/instances/${id}/serialPortOutput`);
    return console.body.contents?.includes(BOOT_BANNER) ? performance.now() - started : undefined;
  });
  toRunning ??= await until('RUNNING (Gale)', async () => ((await api<{ status: string }>('GET', `/instances/${id}`)).body.status === 'RUNNING' ? performance.now() - started : undefined));
  return { toRunning, toBanner, id };
}

process.stderr.write(`qemu bench: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, accelerator ${ACCEL}\n`);
const directMs: number[] = [];
const galeBanner: number[] = [];
const galeRunning: number[] = [];
// One of each first, unmeasured: page cache and Gale's first-request paths warm.
stopDirect(await launchDirect());
await api('DELETE', `/instances/${(await createThroughGale()).id}`);
for (let i = 0; i < BOOTS; i++) {
  const vm = await launchDirect();
  directMs.push(vm.ms);
  stopDirect(vm);
  const made = await createThroughGale();
  galeBanner.push(made.toBanner);
  galeRunning.push(made.toRunning);
  await api('DELETE', `/instances/${made.id}`);
}
await until('every Gale VM deleted', async () => ((await api<unknown[]>('GET', '/instances')).body.length > 0 ? undefined : true));
const galeCpu = gale.cpuSeconds();
await gale.stop();

// 2. Capacity: idle VMs, launched directly.
const idle: Array<{ pid: number; dir: string }> = [];
for (let i = 0; i < VMS; i++) idle.push(await launchDirect());
await sleep(2_000);
const cpuOf = () => idle.reduce((sum, vm) => sum + cpuSecondsOf(vm.pid), 0);
const rssKb = () => idle.reduce((sum, vm) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${vm.pid}/status`, 'utf8'))?.[1] ?? 0), 0);
const cpuBefore = cpuOf();
const windowStart = performance.now();
await sleep(WINDOW_MS);
const cpuPerVm = (cpuOf() - cpuBefore) / ((performance.now() - windowStart) / 1000) / VMS;
const rssPerVmMb = rssKb() / 1024 / VMS;
for (const vm of idle) stopDirect(vm);
rmSync(work, { recursive: true, force: true });

const directMedian = median(directMs);
const line = (label: string, ms: number) => `  ${label.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms   ${(ms / directMedian).toFixed(2)}x`;
console.log(`\nBoot of the busybox VM image under ${ACCEL}, median of ${BOOTS} (ratio to qemu launched directly):`);
console.log(line('qemu directly: spawn -> banner (baseline)', directMedian));
console.log(line('Gale: POST /instances -> RUNNING', median(galeRunning)));
console.log(line('Gale: POST /instances -> banner in serial output', median(galeBanner)));
console.log(`  (all runs, ms: direct ${directMs.map((v) => v.toFixed(0)).join(' ')}; Gale to banner ${galeBanner.map((v) => v.toFixed(0)).join(' ')})`);
console.log(`  Gale's own CPU for the whole boot phase (${BOOTS + 1} creates and deletes, the polling answered): ${galeCpu.toFixed(2)} s`);
const byCpu = Math.floor(cpus().length / cpuPerVm);
const byMemory = Math.floor((totalmem() / 2 ** 20) / rssPerVmMb);
console.log(`\nIdle tiny VMs (${VMS} booted, e2-micro at memoryScale ${QEMU_DEFAULTS.memoryScale}: -m ${Math.max(QEMU_DEFAULTS.minMemoryMb, Math.round(SPEC.memoryMb * QEMU_DEFAULTS.memoryScale))}):`);
console.log(`  CPU per idle VM: ${(cpuPerVm * 1000).toFixed(1)} ms/s (${(cpuPerVm * 100).toFixed(2)}% of a core); RSS per VM: ${rssPerVmMb.toFixed(0)} MB`);
console.log(`  ${cpus().length} cores hold ~${byCpu} idle VMs by CPU; ${(totalmem() / 2 ** 30).toFixed(0)} GiB holds ~${byMemory} by memory: ~${Math.min(byCpu, byMemory)} here`);
