import type { Selectable } from 'kysely';
import type { DesiredPower, InstanceRecord, InstanceStatus, InstanceSummary, OperationKind } from '../domain/instance.js';
import type { ClaimedInstance, Operation, User } from '../domain/store.js';
import type { InstancesTable, OperationsTable, UsersTable } from './schema.js';

/*
 * Row <-> record mapping, in one place. Status and kind columns only ever hold values this code wrote,
 * so they are narrowed without a runtime check.
 */

/** The columns an InstanceRecord is built from: selecting only these keeps hot reads lean. */
export const INSTANCE_COLUMNS = [
  'id',
  'user_id',
  'customer_id',
  'zone',
  'machine_type',
  'template_id',
  'vcpus',
  'memory_mb',
  'disk_gb',
  'status',
  'external_ip',
  'internal_ip',
  'created_at',
  'desired',
  'deleted_at',
  'generation',
  'reconciled_generation',
  'reset_requested',
  'reset_applied',
  'provisioned',
] as const;

export type InstanceRow = Pick<Selectable<InstancesTable>, (typeof INSTANCE_COLUMNS)[number]>;

/** The columns an InstanceSummary is built from: what the API shows, and nothing else. */
export const SUMMARY_COLUMNS = ['id', 'user_id', 'customer_id', 'zone', 'machine_type', 'template_id', 'status', 'external_ip', 'internal_ip', 'created_at'] as const;

export type SummaryRow = Pick<Selectable<InstancesTable>, (typeof SUMMARY_COLUMNS)[number]>;

export function toSummary(row: SummaryRow): InstanceSummary {
  return {
    id: row.id,
    userId: row.user_id,
    customerId: row.customer_id,
    zone: row.zone,
    machineType: row.machine_type,
    templateId: row.template_id,
    status: row.status as InstanceStatus,
    externalIp: row.external_ip,
    internalIp: row.internal_ip,
    createdAt: row.created_at,
  };
}

export const CLAIMED_COLUMNS = [...INSTANCE_COLUMNS, 'attempts', 'work_due_at'] as const;
export type ClaimedRow = Pick<Selectable<InstancesTable>, (typeof CLAIMED_COLUMNS)[number]>;

export function toInstance(row: InstanceRow): InstanceRecord {
  return {
    ...toSummary(row),
    vcpus: row.vcpus,
    memoryMb: row.memory_mb,
    diskGb: row.disk_gb,
    desired: row.desired as DesiredPower,
    deletedAt: row.deleted_at,
    generation: row.generation,
    reconciledGeneration: row.reconciled_generation,
    resetRequested: row.reset_requested,
    resetApplied: row.reset_applied,
    provisioned: row.provisioned !== 0,
  };
}

export function toClaimed(row: ClaimedRow): ClaimedInstance {
  return { ...toInstance(row), attempts: row.attempts };
}

export const USER_COLUMNS = ['id', 'email', 'tier', 'roles', 'customer_id', 'created_at'] as const;
export type UserRow = Pick<Selectable<UsersTable>, (typeof USER_COLUMNS)[number]>;

export function toUser(row: UserRow): User {
  return { id: row.id, email: row.email, tier: row.tier, roles: parseRoles(row.roles), customerId: row.customer_id, createdAt: row.created_at };
}

export function serializeRoles(roles: readonly string[]): string {
  return JSON.stringify(roles);
}

function parseRoles(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((role): role is string => typeof role === 'string') : [];
}

export function toOperation(row: Selectable<OperationsTable>): Operation {
  return {
    id: row.id,
    instanceId: row.instance_id,
    userId: row.user_id,
    kind: row.kind as OperationKind,
    state: row.state as Operation['state'],
    generation: row.generation,
    createdAt: row.created_at,
    requestedBy: row.requested_by ?? row.user_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
  };
}
