import { randomUUID } from 'node:crypto';
import { newInstanceId } from '../../src/domain/ids.js';
import type { InstanceRecord } from '../../src/domain/instance.js';
import type { NewInstance, Store, User } from '../../src/domain/store.js';
import type { Tier } from '../../src/domain/tiers.js';

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
    createdAt: 1_000,
    ...overrides,
  };
}

export function create(store: Store, userId: string, overrides: Partial<NewInstance> = {}, tier: Tier | null = null): Promise<InstanceRecord> {
  return store.createInstance(newInstance(userId, overrides), tier, () => newInstanceId(userId));
}
