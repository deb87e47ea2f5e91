import type { Selectable } from 'kysely';
import { SUMMARY_FIELDS, type DesiredPower, type InstanceRecord, type InstanceStatus, type InstanceSummary, type OperationKind } from '../domain/instance.js';
import { readInstanceSpec, type InstanceSpec } from '../domain/instance-spec.js';
import type { ClaimedInstance, Operation, SimulatedMachine, User } from '../domain/store.js';
import type { InstancesTable, OperationsTable, SimulatedMachinesTable, UsersTable } from './schema.js';

/*
 * Row <-> record mapping, in one place. Status and kind columns only ever hold values this code wrote,
 * so they are narrowed without a runtime check.
 */

/** How one field of an InstanceRecord is stored: its column, and the conversion each way. */
interface FieldColumn<F extends RecordField, C extends InstanceColumn> {
  column: C;
  read(value: Selectable<InstancesTable>[C]): InstanceRecord[F];
  write(value: InstanceRecord[F]): Selectable<InstancesTable>[C];
}

type RecordField = keyof InstanceRecord;
type InstanceColumn = keyof Selectable<InstancesTable>;
/** Whichever column a field is kept in, the conversions must fit both types. */
type AnyFieldColumn<F extends RecordField> = { [C in InstanceColumn]: FieldColumn<F, C> }[InstanceColumn];

const same = <T>(value: T): T => value;
/** A field whose column holds it as it is. */
const plain = <C extends InstanceColumn>(column: C) => ({ column, read: same, write: same });

/**
 * The one map of InstanceRecord fields to instances columns: the column lists every read selects (summary, record,
 * claim) and the conversions of reads and writes all come from it. A new column is one line here, in schema.ts and
 * in its migration; a new field of the spec is none.
 */
const INSTANCE_FIELDS = {
  id: plain('id'),
  userId: plain('user_id'),
  customerId: plain('customer_id'),
  zone: plain('zone'),
  machineType: plain('machine_type'),
  templateId: plain('template_id'),
  vcpus: plain('vcpus'),
  memoryMb: plain('memory_mb'),
  diskGb: plain('disk_gb'),
  spec: { column: 'spec', read: (value: string) => readInstanceSpec(JSON.parse(value)), write: (value: InstanceSpec) => JSON.stringify(value) },
  status: { column: 'status', read: (value: string) => value as InstanceStatus, write: same },
  externalIp: plain('external_ip'),
  internalIp: plain('internal_ip'),
  createdAt: plain('created_at'),
  desired: { column: 'desired', read: (value: string) => value as DesiredPower, write: same },
  deletedAt: plain('deleted_at'),
  generation: plain('generation'),
  reconciledGeneration: plain('reconciled_generation'),
  resetRequested: plain('reset_requested'),
  resetApplied: plain('reset_applied'),
  provisioned: { column: 'provisioned', read: (value: number) => value !== 0, write: (value: boolean) => (value ? 1 : 0) },
} as const satisfies { [F in RecordField]: AnyFieldColumn<F> };

type ColumnOf<F extends RecordField> = (typeof INSTANCE_FIELDS)[F]['column'];
/** The row a read of the given fields selects. */
type RowOf<F extends RecordField> = Pick<Selectable<InstancesTable>, ColumnOf<F>>;

function columnsOf<F extends RecordField>(fields: readonly F[]): Array<ColumnOf<F>> {
  return fields.map((field) => INSTANCE_FIELDS[field].column);
}

/** The conversion of a row of the given fields' columns into those fields. */
function readerOf<F extends RecordField>(fields: readonly F[]): (row: RowOf<F>) => Pick<InstanceRecord, F> {
  const mappings = fields.map((field) => ({ field, ...(INSTANCE_FIELDS[field] as { column: ColumnOf<F>; read(value: unknown): unknown }) }));
  return (row) => {
    const record: Partial<Record<F, unknown>> = {};
    for (const { field, column, read } of mappings) record[field] = read(row[column]);
    return record as Pick<InstanceRecord, F>;
  };
}

const RECORD_FIELDS = Object.keys(INSTANCE_FIELDS) as RecordField[];

/** The columns an InstanceRecord is built from: selecting only these keeps hot reads lean. */
export const INSTANCE_COLUMNS = columnsOf(RECORD_FIELDS);
export type InstanceRow = RowOf<RecordField>;
export const toInstance: (row: InstanceRow) => InstanceRecord = readerOf(RECORD_FIELDS);

/** The columns an InstanceSummary is built from: what the API shows, and nothing else. */
export const SUMMARY_COLUMNS = columnsOf(SUMMARY_FIELDS);
export const toSummary: (row: RowOf<(typeof SUMMARY_FIELDS)[number]>) => InstanceSummary = readerOf(SUMMARY_FIELDS);

export const CLAIMED_COLUMNS = [...INSTANCE_COLUMNS, 'attempts', 'work_due_at'] as const;
export type ClaimedRow = Pick<Selectable<InstancesTable>, (typeof CLAIMED_COLUMNS)[number]>;

export function toClaimed(row: ClaimedRow): ClaimedInstance {
  return { ...toInstance(row), attempts: row.attempts };
}

/** The row that stores a record: every column of the map, each converted for storing. */
export function toInstanceRow(record: InstanceRecord): InstanceRow {
  const row: Partial<Record<InstanceColumn, unknown>> = {};
  for (const field of RECORD_FIELDS) {
    const { column, write } = INSTANCE_FIELDS[field] as { column: InstanceColumn; write(value: unknown): unknown };
    row[column] = write(record[field]);
  }
  return row as InstanceRow;
}

/**
 * The row's values named one by one: what a precompiled statement (precompiled.ts) must be given in place of a spread
 * of its arguments, each of which it fills in by name.
 */
export function namedInstanceValues(row: InstanceRow): InstanceRow {
  return Object.fromEntries(INSTANCE_COLUMNS.map((column) => [column, row[column]])) as InstanceRow;
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

export function toMachine(row: Selectable<SimulatedMachinesTable>): SimulatedMachine {
  return {
    instanceId: row.instance_id,
    status: row.status as InstanceStatus,
    internalIp: row.internal_ip,
    externalIp: row.external_ip,
    bootCount: row.boot_count,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
  };
}
