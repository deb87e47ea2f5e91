import { createHash } from 'node:crypto';
import type { SerialOutput } from '../../domain/provider.js';
import type { SimulatedMachine } from './machines.js';

/*
 * The simulated serial console. It is not stored: it is a pure function of what the store keeps of the machine (its
 * boot count, and whether it is powered on), so that every replica, and a restarted server, read the same bytes at the
 * same offsets, and a reader following `next` never sees the log shift under it.
 *
 * The log of a machine booted n times is  boot(1) down boot(2) down ... boot(n) [down, when it is off now]. Each boot
 * prints a firmware line, a banner naming the instance, the kernel and init lines, and a login prompt; `down` is the
 * power-off. Each piece has the same length on every boot (the boot id is a fixed-width hash), so any offset is found
 * by arithmetic, however many boots there were. One simplification keeps it derivable: a reset is logged as a power
 * cycle (down, then the new boot), since nothing kept tells a reset from a stop and start after the fact.
 */

/** Kept bytes, as GCE keeps 1 MB: older output is no longer available, and a read from before it starts here. */
export const CONSOLE_KEPT_BYTES = 1024 * 1024;

const CRLF = '\r\n';

/** A boot id like systemd's (32 hex digits), deterministic per machine and boot. */
function bootId(instanceId: string, boot: number): string {
  return createHash('sha256').update(`boot:${instanceId}:${boot}`).digest('hex').slice(0, 32);
}

const hostnameOf = (instanceId: string): string => instanceId.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);

/** What the machine prints from power-on to its login prompt. */
export function bootText(instanceId: string, boot: number): string {
  const host = hostnameOf(instanceId);
  return [
    'SeaBIOS (version 1.16.3-gale)',
    `Gale simulated machine ${instanceId}`,
    'Booting from Hard Disk 0...',
    '[    0.000000] Linux version 6.1.0-gale-amd64 (gale@simulator) #1 SMP PREEMPT_DYNAMIC',
    '[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro console=ttyS0,115200n8',
    `[    0.812000] systemd[1]: Booting ${host}, boot ${bootId(instanceId, boot)}...`,
    '[  OK  ] Started OpenSSH server daemon.',
    '[  OK  ] Reached target Multi-User System.',
    '',
    `${host} login: `,
  ].join(CRLF);
}

/** What it prints as it goes down. */
export function powerOffText(): string {
  return [CRLF + '[  OK  ] Reached target System Power Off.', '[   42.000000] reboot: Power down', ''].join(CRLF);
}

/**
 * A simulated machine holds an external address exactly while it is powered on: a boot gives one, a stop or a power
 * failure takes it away, a suspend keeps it (memory is kept). Read so, STAGING after a stop counts as off, and STAGING
 * on the way back from SUSPENDED as on, which keeps the log append-only through every transition.
 */
const isOn = (machine: SimulatedMachine): boolean => machine.externalIp !== '';

/** The bytes [start, next) of the machine's console from `asked`, as GCE's getSerialPortOutput answers. */
export function consoleOutput(machine: SimulatedMachine, asked: number): SerialOutput {
  const boots = machine.bootCount;
  if (boots <= 0) return nothingFrom(asked);
  const bootBytes = Buffer.byteLength(bootText(machine.instanceId, 1));
  const downBytes = Buffer.byteLength(powerOffText());
  const cycle = bootBytes + downBytes;
  const end = boots * cycle - (isOn(machine) ? downBytes : 0);
  if (asked >= end) return nothingFrom(asked);
  const from = Math.max(asked, end - CONSOLE_KEPT_BYTES);

  // Only the boots that cover [from, end) are made.
  const firstBoot = Math.floor(from / cycle) + 1;
  const pieces: string[] = [];
  for (let boot = firstBoot; boot <= boots; boot++) {
    pieces.push(bootText(machine.instanceId, boot));
    if (boot < boots || !isOn(machine)) pieces.push(powerOffText());
  }
  const bytes = Buffer.from(pieces.join(''), 'utf8').subarray(from - (firstBoot - 1) * cycle);
  return { contents: bytes.toString('utf8'), start: from, next: end };
}

/**
 * Nothing to read from `asked`: at or past the end, start and next are the offset asked (GCE: next is the position of
 * the next byte "regardless of whether the content exists"), so that a reader polling from there gets what comes.
 */
function nothingFrom(asked: number): SerialOutput {
  return { contents: '', start: asked, next: asked };
}
