import { sql, type Kysely } from 'kysely';
import { newTimeOrderedId } from '../domain/ids.js';
import type { OperationKind } from '../domain/instance.js';
import type { FinishedOperation, Operation, OperationFilter } from '../domain/store.js';
import type { Db } from './db.js';
import { precompiled, statement } from './precompiled.js';
import { toOperation } from './rows.js';
import type { Database } from './schema.js';

/*
 * Operation rows record each accepted change of intent. They are written in the transaction that changed
 * the instance and finished by the reconciler's fenced writes, so they share those transactions: every
 * function here takes the transaction it is part of.
 */

type NewOperation = { instanceId: string; userId: string; requestedBy: string; kind: OperationKind; generation: number; createdAt: number };

/**
 * 'pending' written into the SQL rather than bound: SQLite uses the partial index operations_pending (migration 005)
 * only for a query whose WHERE names its condition literally, and without it every claim would read the instance's
 * whole history of operations.
 */
const PENDING = sql.lit('pending');

const insertRow = statement((q, op: Operation) =>
  q.insertInto('operations').values({
    id: op.id,
    instance_id: op.instanceId,
    user_id: op.userId,
    kind: op.kind,
    state: op.state,
    generation: op.generation,
    created_at: op.createdAt,
    requested_by: op.requestedBy,
    started_at: op.startedAt,
    finished_at: op.finishedAt,
    error: null,
  }),
);

/** An operation for the reconciler to carry out: pending until its work is claimed. */
export async function insertOperation(trx: Kysely<Database>, op: NewOperation): Promise<Operation> {
  const row: Operation = { ...op, id: newTimeOrderedId(op.createdAt), state: 'pending', startedAt: null, finishedAt: null, error: null };
  await insertRow(trx, row);
  return row;
}

/** An accepted request that changes nothing (start on a running instance): done the moment it is accepted, as GCE's. */
export async function insertFinishedOperation(trx: Kysely<Database>, op: NewOperation): Promise<Operation> {
  const at = op.createdAt;
  const row: Operation = { ...op, id: newTimeOrderedId(at), state: 'done', startedAt: at, finishedAt: at, error: null };
  await insertRow(trx, row);
  return row;
}

/** The claimed instances' waiting operations have started: the reconciler took up their work. Returns them. */
export async function markOperationsStarted(trx: Kysely<Database>, instanceIds: string[], at: number): Promise<Operation[]> {
  if (instanceIds.length === 0) return [];
  const rows = await trx
    .updateTable('operations')
    .set({ started_at: at })
    .where('instance_id', 'in', instanceIds)
    .where('state', '=', PENDING)
    .where('started_at', 'is', null)
    .returningAll()
    .execute();
  return rows.map(toOperation);
}

/** Finishes the pending operations of an instance, those up to a generation or all of them; returns them, finished. */
type Finish = { instanceId: string; state: 'done' | 'failed'; at: number; error: string | null; generation: number };

function finishPending(q: Kysely<Database>, finish: Finish) {
  return (
    q
      .updateTable('operations')
      // An operation finished before it was seen starting (claimed and done between two reads) started when it ended.
      .set((eb) => ({ state: finish.state, finished_at: finish.at, error: finish.error, started_at: eb.fn.coalesce('started_at', eb.val(finish.at)) }))
      .where('instance_id', '=', finish.instanceId)
      .where('state', '=', PENDING)
  );
}

// Every reconcile ends in one of these: compiled once (precompiled.ts).
const finishUpTo = statement((q, finish: Finish) => finishPending(q, finish).where('generation', '<=', finish.generation).returningAll());
const finishAll = statement((q, finish: Finish) => finishPending(q, finish).returningAll());

export async function finishOperations(
  trx: Kysely<Database>,
  instanceId: string,
  upToGeneration: number | undefined,
  outcome: { state: 'done' | 'failed'; at: number; error?: string },
): Promise<Operation[]> {
  const finish: Finish = { instanceId, state: outcome.state, at: outcome.at, error: outcome.error ?? null, generation: upToGeneration ?? 0 };
  const { rows } = await (upToGeneration === undefined ? finishAll(trx, finish) : finishUpTo(trx, finish));
  return rows.map(toOperation);
}

/** What the metric of operation durations needs of the operations a write finished. */
export function finished(operations: Operation[]): FinishedOperation[] {
  return operations.map((op) => ({ kind: op.kind, state: op.state === 'failed' ? 'failed' : 'done', createdAt: op.createdAt, finishedAt: op.finishedAt ?? op.createdAt }));
}

/** A user's operations newest first (ids are time-ordered), from the index operations_user (user_id, id). */
export async function listUserOperations(db: Db, filter: OperationFilter, before: string | undefined, limit: number): Promise<Operation[]> {
  const rows = await db.kysely
    .selectFrom('operations')
    .selectAll()
    .where('user_id', '=', filter.userId)
    .$if(filter.instanceId !== undefined, (q) => q.where('instance_id', '=', filter.instanceId!))
    .$if(filter.status !== undefined, (q) => {
      switch (filter.status) {
        case 'PENDING':
          return q.where('state', '=', PENDING).where('started_at', 'is', null);
        case 'RUNNING':
          return q.where('state', '=', PENDING).where('started_at', 'is not', null);
        case 'DONE':
          return q.where('state', '=', 'done');
        default:
          return q.where('state', '=', 'failed');
      }
    })
    .$if(before !== undefined, (q) => q.where('id', '<', before!))
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toOperation);
}

/** An instance's operations, oldest first: read at the start of every reconcile (its transition window), so compiled once. */
export function operationsOfInstance(db: Db): (instanceId: string) => Promise<Operation[]> {
  const byInstance = precompiled(db, (instanceId) =>
    db.kysely.selectFrom('operations').selectAll().where('instance_id', '=', instanceId).orderBy('generation').orderBy('created_at'),
  );
  return async (instanceId) => (await byInstance(instanceId)).map(toOperation);
}

/** Deletes up to limit finished operations older than finishedBefore, oldest first (index operations_finished). */
export async function pruneOperations(db: Db, finishedBefore: number, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  const result = await db.write((trx) =>
    trx
      .deleteFrom('operations')
      .where('id', 'in', (eb) =>
        eb.selectFrom('operations').select('id').where('finished_at', 'is not', null).where('finished_at', '<', finishedBefore).orderBy('finished_at').limit(limit),
      )
      .executeTakeFirst(),
  );
  return Number(result.numDeletedRows);
}

export function operationReader(db: Db): (id: string) => Promise<Operation | undefined> {
  const byId = precompiled(db, (id) => db.kysely.selectFrom('operations').selectAll().where('id', '=', id));
  return async (id) => {
    const [row] = await byId(id);
    return row ? toOperation(row) : undefined;
  };
}
