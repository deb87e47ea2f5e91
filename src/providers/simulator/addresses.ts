import { createHash } from 'node:crypto';

/*
 * Simulated addresses are derived from the instance id so that a restarted simulator, or a test, can predict them.
 * They only look like GCE's (10.128.0.0/9 internal, 34.0.0.0/8 external) and are never contacted.
 */

function digest(input: string): Buffer {
  return createHash('sha256').update(input).digest();
}

/** Kept for the machine's life, like a GCE primary internal IP; .0, .1 and .255 are avoided as GCE reserves them. */
export function internalIpFor(instanceId: string): string {
  const d = digest(`internal:${instanceId}`);
  return `10.128.${d[0]}.${2 + ((d[1] ?? 0) % 253)}`;
}

/** Ephemeral like GCE's: a boot after a stop gets a new one, hence the boot count in the derivation. */
export function externalIpFor(instanceId: string, bootCount: number): string {
  const d = digest(`external:${instanceId}:${bootCount}`);
  return `34.${d[0]}.${d[1]}.${1 + ((d[2] ?? 0) % 254)}`;
}
