import type { Kysely } from 'kysely';
import { newTimeOrderedId } from '../domain/ids.js';
import type { OperationKind } from '../domain/instance.js';
import type { Operation } from '../domain/store.js';
import type { Db } from './db.js';
import { statement } from './precompiled.js';
import { toOperation } from './rows.js';
import type { Database } from './schema.js';

/*
 * Operation rows record each accepted change of intent. They are written in the transaction that changed
 * the instance and finished by the reconciler's fenced writes, so they share those transactions: every
 * function here takes the transaction it is part of.
 */

type NewOperation = { instanceId: string; userId: string; kind: OperationKind; generation: number; createdAt: number };

const insertPending = statement((q, op: NewOperation & { id: string }) =>
  q.insertInto('operations').values({
    id: op.id,
    instance_id: op.instanceId,
    user_id: op.userId,
    kind: op.kind,
    state: 'pending',
    generation: op.generation,
    created_at: op.createdAt,
    finished_at: null,
    error: null,
  }),
);

export async function insertOperation(trx: Kysely<Database>, op: NewOperation): Promise<void> {
  await insertPending(trx, { ...op, id: newTimeOrderedId(op.createdAt) });
}

/** Finishes the pending operations of an instance, those up to a generation or all of them. */
export async function finishOperations(
  trx: Kysely<Database>,
  instanceId: string,
  upToGeneration: number | undefined,
  outcome: { state: 'done' | 'failed'; at: number; error?: string },
): Promise<void> {
  await trx
    .updateTable('operations')
    .set({ state: outcome.state, finished_at: outcome.at, error: outcome.error ?? null })
    .where('instance_id', '=', instanceId)
    .where('state', '=', 'pending')
    .$if(upToGeneration !== undefined, (q) => q.where('generation', '<=', upToGeneration ?? 0))
    .execute();
}

export async function listOperations(db: Db, instanceId: string): Promise<Operation[]> {
  const rows = await db.kysely
    .selectFrom('operations')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .orderBy('generation')
    .orderBy('created_at')
    .execute();
  return rows.map(toOperation);
}
