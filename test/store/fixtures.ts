import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { newInstanceId } from '../../src/domain/ids.js';
import type { InstanceRecord } from '../../src/domain/instance.js';
import type { NewInstance, Store, User } from '../../src/domain/store.js';
import type { Tier } from '../../src/domain/tiers.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

/** Shared fixtures of the store tests (not a test file itself). */

export const SMALL_TIER: Tier = { name: 'small', requestsPerMinute: 600, maxInstances: 3, maxVcpus: 8, maxDiskGb: 100 };

export async function addUser(store: Store, overrides: Partial<User> = {}): Promise<User> {
  const id = randomUUID();
  return store.createUser({ id, email: `${id.slice(0, 8)}@example.com`, tier: 'small', roles: [], customerId: '', createdAt: 1, ...overrides });
}

export function newInstance(userId: string, overrides: Partial<NewInstance> = {}): NewInstance {
  return {
    userId,
    zone: 'zone-a',
    machineType: 'e2-small',
    templateId: 'ubuntu-22-standard',
    vcpus: 2,
    memoryMb: 2048,
    diskGb: 20,
    spec: instanceSpec(),
    createdAt: 1_000,
    ...overrides,
  };
}

/** Creates an instance; the record as getInstance returns it (without the create operation's id). */
export async function create(store: Store, userId: string, overrides: Partial<NewInstance> = {}, tier: Tier | null = null): Promise<InstanceRecord> {
  const { operationId: _operationId, ...record } = await store.createInstance(newInstance(userId, overrides), tier, () => newInstanceId(userId));
  return record;
}

/** Claims the instance's create and completes it as the reconciler would, leaving it in the given status. */
export async function finishCreate(store: Store, id: string, status: 'RUNNING'): Promise<void> {
  const claimed = await store.claimDue('setup', Number.MAX_SAFE_INTEGER - 10, 5, 100);
  const mine = claimed.find((c) => c.id === id);
  assert.ok(mine, `instance ${id} was due`);
  for (const other of claimed) if (other.id !== id) await store.failWork(other.id, 'setup', 'not now', other.createdAt);
  const result = await store.completeWork(id, 'setup', {
    generation: mine.generation,
    resetApplied: mine.resetRequested,
    observed: { status, internalIp: '10.0.0.2', externalIp: '203.0.113.2' },
    provisioned: true,
  });
  assert.equal(result.caughtUp, true);
}
