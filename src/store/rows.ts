import type { Selectable } from 'kysely';
import { SUMMARY_FIELDS, type DesiredPower, type InstanceRecord, type InstanceStatus, type InstanceSummary, type OperationKind } from '../domain/instance.js';
import { readInstanceSpec, type InstanceSpec } from '../domain/instance-spec.js';
import type { ClaimedInstance, Operation, User } from '../domain/store.js';
import type { InstancesTable, OperationsTable, UsersTable } from './schema.js';

/*
 * Row <-> record mapping, in one place. Status and kind columns only ever hold values this code wrote,
 * so they are narrowed without a runtime check.
 */

type RecordField = keyof InstanceRecord;
type InstanceColumns = Selectable<InstancesTable>;
type InstanceColumn = keyof InstanceColumns;

/**
 * How one field of an InstanceRecord is stored: its column and, where the types differ, the conversion each way (the
 * types decide: a field whose column holds it as it is must not convert, any other must).
 */
type FieldColumn<F extends RecordField, C extends InstanceColumn> = [InstanceRecord[F], InstanceColumns[C]] extends [InstanceColumns[C], InstanceRecord[F]]
  ? { column: C }
  : { column: C; read(value: InstanceColumns[C]): InstanceRecord[F]; write(value: InstanceRecord[F]): InstanceColumns[C] };
type AnyFieldColumn<F extends RecordField> = { [C in InstanceColumn]: FieldColumn<F, C> }[InstanceColumn];

/**
 * The one map of InstanceRecord fields to instances columns: the lists every read selects (summary, record, claim),
 * the conversions of reads and the row a create writes all come from it. A new column is one line here, one in
 * schema.ts and its migration; a new field of the spec is none.
 */
const INSTANCE_FIELDS = {
  id: { column: 'id' },
  userId: { column: 'user_id' },
  customerId: { column: 'customer_id' },
  zone: { column: 'zone' },
  machineType: { column: 'machine_type' },
  templateId: { column: 'template_id' },
  vcpus: { column: 'vcpus' },
  memoryMb: { column: 'memory_mb' },
  diskGb: { column: 'disk_gb' },
  spec: { column: 'spec', read: (json: string) => readInstanceSpec(JSON.parse(json)), write: (spec: InstanceSpec) => JSON.stringify(spec) },
  status: { column: 'status', read: (value: string) => value as InstanceStatus, write: (status: InstanceStatus) => status },
  externalIp: { column: 'external_ip' },
  internalIp: { column: 'internal_ip' },
  createdAt: { column: 'created_at' },
  desired: { column: 'desired', read: (value: string) => value as DesiredPower, write: (desired: DesiredPower) => desired },
  deletedAt: { column: 'deleted_at' },
  generation: { column: 'generation' },
  reconciledGeneration: { column: 'reconciled_generation' },
  resetRequested: { column: 'reset_requested' },
  resetApplied: { column: 'reset_applied' },
  provisioned: { column: 'provisioned', read: (value: number) => value !== 0, write: (provisioned: boolean) => (provisioned ? 1 : 0) },
} as const satisfies { [F in RecordField]: AnyFieldColumn<F> };

type ColumnOf<F extends RecordField> = (typeof INSTANCE_FIELDS)[F]['column'];
/** A field's column selected under the field's name ('user_id as userId'), so that the row comes back keyed as the record. */
type SelectionOf<F extends RecordField> = F extends RecordField ? (ColumnOf<F> extends F ? F : `${ColumnOf<F>} as ${F}`) : never;
/** The row such a selection reads: the record's keys, the columns' types. */
type RowOf<F extends RecordField> = { [K in F]: InstanceColumns[ColumnOf<K>] };
type Conversion = { column: InstanceColumn; read?(value: unknown): unknown; write?(value: unknown): unknown };

const RECORD_FIELDS = Object.keys(INSTANCE_FIELDS) as RecordField[];
const conversionOf = (field: RecordField): Conversion => INSTANCE_FIELDS[field];

function selectionOf<F extends RecordField>(fields: readonly F[]): Array<SelectionOf<F>> {
  return fields.map((field) => {
    const { column } = INSTANCE_FIELDS[field];
    return (column === field ? field : `${column} as ${field}`) as SelectionOf<F>;
  });
}

/**
 * Turns a row of the fields' selection into the record, in place: the engine's row already has the record's keys, in
 * its order, so only the few fields that convert are touched (the hot reads build no second object).
 */
function readerOf<F extends RecordField>(fields: readonly F[]): (row: RowOf<F>) => Pick<InstanceRecord, F> {
  const converting = fields.flatMap((field) => {
    const { read } = conversionOf(field);
    return read ? [{ field, read }] : [];
  });
  return (row) => {
    const record = row as Record<F, unknown>;
    for (const { field, read } of converting) record[field] = read(record[field]);
    return record as Pick<InstanceRecord, F>;
  };
}

/** What an InstanceRecord is read from: selecting only these keeps hot reads lean. */
export const INSTANCE_COLUMNS = selectionOf(RECORD_FIELDS);
export type InstanceRow = RowOf<RecordField>;
export const toInstance: (row: InstanceRow) => InstanceRecord = readerOf(RECORD_FIELDS);

/** What an InstanceSummary is read from: what the API shows, and nothing else. */
export const SUMMARY_COLUMNS = selectionOf(SUMMARY_FIELDS);
export const toSummary: (row: RowOf<(typeof SUMMARY_FIELDS)[number]>) => InstanceSummary = readerOf(SUMMARY_FIELDS);

/** What a claim returns: the record, its failures so far, and when it was due (to restore the claim's order). */
export const CLAIMED_COLUMNS = [...INSTANCE_COLUMNS, 'attempts', 'work_due_at'] as const;
export type ClaimedRow = InstanceRow & Pick<InstanceColumns, 'attempts' | 'work_due_at'>;

export function toClaimed({ work_due_at: _due, ...row }: ClaimedRow): ClaimedInstance {
  return toInstance(row) as ClaimedInstance;
}

/** The instances row that stores a record, every column of the map, for a create to write. */
export type StoredInstance = { [F in RecordField as ColumnOf<F>]: InstanceColumns[ColumnOf<F>] };

export function toStoredInstance(record: InstanceRecord): StoredInstance {
  const row: Partial<Record<InstanceColumn, unknown>> = {};
  for (const field of RECORD_FIELDS) {
    const { column, write } = conversionOf(field);
    row[column] = write ? write(record[field]) : record[field];
  }
  return row as StoredInstance;
}

const STORED_COLUMNS = RECORD_FIELDS.map((field) => INSTANCE_FIELDS[field].column);

/**
 * The row's values named one by one: what a precompiled statement (precompiled.ts) must be given in place of a spread
 * of its arguments, each of which it fills in by name.
 */
export function namedInstanceValues(row: StoredInstance): StoredInstance {
  return Object.fromEntries(STORED_COLUMNS.map((column) => [column, row[column]])) as StoredInstance;
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
