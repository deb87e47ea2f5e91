import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Accelerator } from './settings.js';

export interface AcceleratorChoice {
  setting: 'auto' | Accelerator;
  qemuBinary: string;
  /** A kernel to boot for the probe; none means no probe can be made, and tcg is chosen. */
  kernel: string | undefined;
  timeoutMs: number;
  logger: Logger;
}

/**
 * kvm when it boots a guest, else tcg. /dev/kvm answering ioctls proves little: on some hosts (nested virtualisation
 * without the MSRs a Linux guest wants) SeaBIOS runs under KVM but the kernel hangs before printing a line. So the
 * probe boots the kernel itself and waits for its first console line; tcg (emulation, slower but everywhere) otherwise.
 */
export async function chooseAccelerator(choice: AcceleratorChoice): Promise<Accelerator> {
  const { setting, logger } = choice;
  if (setting !== 'auto') {
    logger.info({ accelerator: setting }, `QEMU accelerator ${setting}, as configured`);
    return setting;
  }
  const why = await whyNotKvm(choice);
  if (why === undefined) {
    logger.info({ accelerator: 'kvm' }, 'QEMU accelerator kvm: a probe guest booted under it');
    return 'kvm';
  }
  logger.info({ accelerator: 'tcg', reason: why }, `QEMU accelerator tcg (emulation): ${why}`);
  return 'tcg';
}

async function whyNotKvm({ qemuBinary, kernel, timeoutMs }: AcceleratorChoice): Promise<string | undefined> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/kvm is missing or not ours to use';
  }
  if (kernel === undefined) return 'no kernel to probe KVM with (gale images build --vm, or install linux-image-cloud-amd64)';
  const booted = await kernelPrintsUnderKvm(qemuBinary, kernel, timeoutMs);
  return booted ? undefined : `a guest kernel printed nothing under KVM within ${timeoutMs} ms`;
}

/** Boots the kernel with no initramfs (it panics for want of a root, which is fine) and watches its console. */
function kernelPrintsUnderKvm(qemuBinary: string, kernel: string, timeoutMs: number): Promise<boolean> {
  const args = ['-accel', 'kvm', '-nodefaults', '-no-user-config', '-display', 'none', '-m', '128', '-no-reboot',
    '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-serial', 'stdio', '-monitor', 'none'];
  return new Promise((resolve) => {
    const probe = spawn(qemuBinary, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    let settled = false;
    const finish = (booted: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      probe.kill('SIGKILL');
      resolve(booted);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    probe.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('latin1');
      if (output.includes('Linux version')) finish(true);
    });
    probe.once('error', () => finish(false));
    probe.once('exit', () => finish(output.includes('Linux version')));
  });
}
