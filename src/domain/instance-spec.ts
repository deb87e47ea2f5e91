/*
 * An instance's spec: what the providers are to make of it beyond the fields SQL needs as columns (zone, template,
 * machine type, vcpus, memory and disk, which quotas sum and lists filter on). Fixed at create, stored whole in one
 * JSON column (instances.spec), and carried unchanged to the providers in MachineSpec.spec: a field added here needs no
 * migration and is copied by no layer.
 *
 * How to add a field, say labels:
 *   1. Add it to InstanceSpec below. If a spec written before it can simply lack it, make it optional (`labels?:`) and
 *      stop there. If readers should always find it, make it required, raise INSTANCE_SPEC_VERSION and append to
 *      UPGRADES the step from the old version that fills it in (`(spec) => ({ ...spec, version: 2, labels: {} })`).
 *   2. Accept it in the contract (contracts/instance.ts) and put it into `spec` where the create route builds its input.
 *   3. Show it in the view (api/views.ts instanceView: InstanceSummary carries the spec).
 *   4. Read `spec.labels` in the providers that use it.
 * Never rename a field, remove one or change its meaning: during a rolling upgrade a replica still on the older code
 * reads specs written by the newer one, and passes them on whole (their unknown fields kept) rather than failing.
 */

/** The version of the spec this code writes. */
export const INSTANCE_SPEC_VERSION = 1;

export interface InstanceSpec {
  /** The shape it was written in; readInstanceSpec has upgraded older ones to INSTANCE_SPEC_VERSION. */
  readonly version: typeof INSTANCE_SPEC_VERSION;
}

/** A spec as stored, of whatever version; version 0 (absent) is a row from before specs existed (migration 009). */
type StoredSpec = { readonly version?: unknown } & Readonly<Record<string, unknown>>;

/** UPGRADES[n] turns a spec of version n into one of version n + 1. */
const UPGRADES: ReadonlyArray<(older: StoredSpec) => StoredSpec> = [
  // 0 -> 1: a spec from before there were any fields is the empty spec.
  (spec) => ({ ...spec, version: 1 }),
];

/** A spec of the current version with the given fields (none yet). */
export function instanceSpec(fields: Omit<InstanceSpec, 'version'> = {}): InstanceSpec {
  return { ...fields, version: INSTANCE_SPEC_VERSION };
}

/**
 * A spec as it was stored (the parsed JSON; undefined for one saved before specs existed), upgraded to the current
 * version. One of a newer version than this code knows (written by a newer replica) is returned as it is, its unknown
 * fields kept: versions only ever add fields.
 */
export function readInstanceSpec(stored: unknown): InstanceSpec {
  const found = stored ?? {};
  if (typeof found !== 'object' || Array.isArray(found)) throw new Error(`an instance spec must be a JSON object, not ${JSON.stringify(found)}`);
  let spec = found as StoredSpec;
  const from = typeof spec.version === 'number' ? spec.version : 0;
  for (let version = from; version < INSTANCE_SPEC_VERSION; version++) spec = UPGRADES[version]!(spec);
  return spec as unknown as InstanceSpec;
}
