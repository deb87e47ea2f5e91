import type { Gale, Instance, Operation } from '../client/index.js';
import { BULK_CONCURRENCY, mapBounded } from './bulk.js';
import { describeError, reportError } from './exit-codes.js';
import { print, table, type OutputFormat } from './output.js';
import { Progress, progressMode, withStatusEvents } from './progress.js';

/*
 * Power operations and delete on one or many instances: concurrently (at most BULK_CONCURRENCY at once), one result
 * per id, and a non-zero exit code (the first failure's) when any failed.
 */

export const POWER_ACTIONS = ['start', 'stop', 'restart', 'reset', 'suspend', 'resume'] as const;
export type InstanceAction = (typeof POWER_ACTIONS)[number] | 'delete';

export interface ActionResult {
  instanceId: string;
  action: InstanceAction;
  ok: boolean;
  operationId?: string;
  /** The status once waited for (DELETED after a delete). */
  status?: string;
  error?: { message: string; code?: string; errorId?: string };
}

async function accept(gale: Gale, action: InstanceAction, id: string): Promise<string> {
  if (action === 'delete') return (await gale.instances.delete(id)).operationId;
  const operation: Operation = await gale.instances[action](id);
  return operation.id;
}

async function actOn(gale: Gale, action: InstanceAction, id: string, wait: { timeoutMs: number } | undefined, many: boolean): Promise<ActionResult> {
  let progress: Progress | undefined;
  try {
    const operationId = await accept(gale, action, id);
    if (!wait) return { instanceId: id, action, ok: true, operationId };
    const mode = progressMode(many ? 2 : 1);
    progress = mode === 'none' ? undefined : new Progress(id, mode);
    await withStatusEvents(gale, id, progress, () => gale.waitForOperation(operationId, { timeoutMs: wait.timeoutMs }));
    const status = action === 'delete' ? 'DELETED' : (await gale.instances.get(id)).status;
    progress?.finish(status);
    return { instanceId: id, action, ok: true, operationId, status };
  } catch (error) {
    progress?.finish('FAILED');
    reportError(error, `${id}: `);
    const api = error as { code?: string; errorId?: string };
    return { instanceId: id, action, ok: false, error: { message: describeError(error), code: api.code, errorId: api.errorId || undefined } };
  }
}

export async function actOnAll(gale: Gale, action: InstanceAction, ids: string[], wait: { timeoutMs: number } | undefined, format: OutputFormat): Promise<void> {
  const unique = [...new Set(ids)];
  const results = await mapBounded(unique, BULK_CONCURRENCY, (id) => actOn(gale, action, id, wait, unique.length > 1));
  const shown = results.map(({ instanceId, action: done, ok, operationId, status, error }) => ({ instanceId, action: done, ok, operationId, status, error }));
  print(shown, format, () => {
    const rows = results.filter((r) => r.ok).map((r) => [r.instanceId, r.action, r.status ?? 'accepted', r.operationId ?? '']);
    return rows.length === 0 ? '' : table(['ID', 'ACTION', 'RESULT', 'OPERATION'], rows);
  });
}

/** The instance once RUNNING after a create, with the progress through PROVISIONING and STAGING. */
export async function waitCreated(gale: Gale, instance: Instance, timeoutMs: number): Promise<Instance> {
  const mode = progressMode(1);
  const progress = new Progress(instance.id, mode, instance.status);
  try {
    const running = await withStatusEvents(gale, instance.id, progress, () => gale.waitForStatus(instance.id, 'RUNNING', { timeoutMs }));
    progress.finish(running.status);
    return running;
  } catch (error) {
    progress.finish('FAILED');
    throw error;
  }
}
