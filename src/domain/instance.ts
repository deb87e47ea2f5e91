import type { InstanceSpec } from './instance-spec.js';

/**
 * The statuses of the spec, which are GCE's, and GCE's SUSPENDING on the way to SUSPENDED. Clients must tolerate values
 * they do not know; we emit only these.
 */
export const INSTANCE_STATUSES = ['PROVISIONING', 'STAGING', 'RUNNING', 'STOPPING', 'TERMINATED', 'SUSPENDING', 'SUSPENDED'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export const TRANSITIONAL_STATUSES: ReadonlySet<InstanceStatus> = new Set(['PROVISIONING', 'STAGING', 'STOPPING', 'SUSPENDING']);

/** What the user last asked an instance to be; the reconciler drives the machine toward it. */
export type DesiredPower = 'RUNNING' | 'TERMINATED' | 'SUSPENDED';

export const POWER_OPERATIONS = ['start', 'stop', 'restart', 'reset', 'suspend', 'resume'] as const;
export type PowerOperation = (typeof POWER_OPERATIONS)[number];

export const OPERATION_KINDS = ['create', ...POWER_OPERATIONS, 'delete'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** How far an operation has got: accepted and waiting, being carried out, or ended one way or the other. */
export const OPERATION_STATUSES = ['PENDING', 'RUNNING', 'DONE', 'FAILED'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/**
 * What the API shows of an instance, and all that its reads fetch: the reconciler's bookkeeping (generations,
 * leases, resets) stays in the store. Every field but status and the addresses is fixed at create. The store reads
 * these fields and no others (store/rows.ts).
 *
 * The spec is among them so that the view can show what it holds (labels, metadata) without a second read. On the
 * hottest read, GET by id, that is one more short text column of a row already fetched, and a JSON.parse of it: 0.2 to
 * 0.3 µs (measured with `{"version":1}` on the bench machine under load), against about 77 µs of server CPU per GET
 * (docs/performance.md), so under half a percent; a list pays it per instance, a few percent of a page of 100.
 * Store reads convert rows in place (store/rows.ts), so the map costs nothing beyond that parse.
 */
export const SUMMARY_FIELDS = ['id', 'userId', 'customerId', 'zone', 'machineType', 'templateId', 'status', 'externalIp', 'internalIp', 'createdAt', 'spec'] as const;
export type InstanceSummary = Pick<InstanceRecord, (typeof SUMMARY_FIELDS)[number]>;

/** An instance as the store keeps it. Timestamps are epoch milliseconds. */
export interface InstanceRecord {
  id: string;
  userId: string;
  /** The owner's customer (organisation), '' for none: always the owner's current one. */
  customerId: string;
  zone: string;
  machineType: string;
  templateId: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  /** What the providers are to make of it beyond the columns above; fixed at create (domain/instance-spec.ts). */
  spec: InstanceSpec;
  status: InstanceStatus;
  externalIp: string;
  internalIp: string;
  createdAt: number;
  /** What the user last asked for; the reconciler drives the provider toward it. */
  desired: DesiredPower;
  /** Set when the user deleted it: invisible to the API from then on, torn down in the background. */
  deletedAt: number | null;
  /** Bumped by every accepted change of intent; the reconciler has caught up when reconciledGeneration equals it. */
  generation: number;
  reconciledGeneration: number;
  /** Hard resets asked for and carried out: a reset is pending while requested > applied. */
  resetRequested: number;
  resetApplied: number;
  /** True once a provider resource has existed for it, so a vanished resource is told from a never-made one. */
  provisioned: boolean;
}

/** The fields the store and the reconciler decide: a creator gives every other field (NewInstance). */
export type InstanceBookkeeping =
  | 'id'
  | 'customerId'
  | 'status'
  | 'externalIp'
  | 'internalIp'
  | 'desired'
  | 'deletedAt'
  | 'generation'
  | 'reconciledGeneration'
  | 'resetRequested'
  | 'resetApplied'
  | 'provisioned';

export function isTransitional(status: InstanceStatus): boolean {
  return TRANSITIONAL_STATUSES.has(status);
}
