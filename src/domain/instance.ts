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
 * leases, resets) stays in the store. Every field but status and the addresses is fixed at create.
 */
export type InstanceSummary = Pick<InstanceRecord, 'id' | 'userId' | 'customerId' | 'zone' | 'machineType' | 'templateId' | 'status' | 'externalIp' | 'internalIp' | 'createdAt'>;

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

export function isTransitional(status: InstanceStatus): boolean {
  return TRANSITIONAL_STATUSES.has(status);
}
