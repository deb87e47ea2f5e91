import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInstanceId, INSTANCE_ID_PATTERN, newApiKey, newApiSecret, newSessionToken, newTimeOrderedId } from '../../src/domain/ids.js';
import { planPowerOperation } from '../../src/domain/power.js';
import { quotaViolation } from '../../src/domain/tiers.js';
import { nextAction } from '../../src/domain/reconcile-plan.js';
import { CatalogIndex, machineTypePath } from '../../src/domain/catalog.js';
import { formatTimestamp } from '../../src/domain/clock.js';
import { hashCredential, sameHash } from '../../src/domain/credentials.js';
import { GaleError } from '../../src/domain/errors.js';
import { DEFAULT_CATALOG } from '../../src/config/default-catalog.js';
import { DEFAULT_TIERS } from '../../src/config/default-tiers.js';
import type { InstanceStatus } from '../../src/domain/instance.js';

test('instance ids carry the owner prefix and 8 random hex digits', () => {
  const id = newInstanceId('550e8400-e29b-41d4-a716-446655440000');
  assert.match(id, /^tw-550e84-[0-9a-f]{8}$/);
  assert.match(id, INSTANCE_ID_PATTERN);
  const many = new Set(Array.from({ length: 2000 }, () => newInstanceId('550e8400-e29b-41d4-a716-446655440000')));
  assert.equal(many.size, 2000);
});

test('operation ids are UUIDs version 7: ordered by their time, random after it', () => {
  const form = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const earlier = newTimeOrderedId(Date.UTC(2026, 0, 1));
  const later = newTimeOrderedId(Date.UTC(2026, 0, 1) + 1);
  assert.match(earlier, form);
  assert.match(later, form);
  assert.ok(earlier < later, `${earlier} sorts before ${later}`);
  assert.equal(earlier.slice(0, 13), '019b76da-a800', 'the first 48 bits are the milliseconds since 1970');
  assert.notEqual(newTimeOrderedId(0), newTimeOrderedId(0), 'ids of the same millisecond still differ');
  assert.match(newTimeOrderedId(-5), form);
});

test('credentials are long enough for 256 bits and alphanumeric', () => {
  for (const [value, length] of [[newApiKey(), 44], [newApiSecret(), 64], [newSessionToken(), 64]] as const) {
    assert.equal(value.length, length);
    assert.match(value, /^[A-Za-z0-9]+$/);
    assert.ok(value.length * Math.log2(62) >= 256);
  }
  assert.notEqual(newApiSecret(), newApiSecret());
});

test('credential hashes compare in constant time and only equal for equal input', () => {
  const a = hashCredential('secret-a');
  assert.equal(a.length, 64);
  assert.ok(sameHash(a, hashCredential('secret-a')));
  assert.ok(!sameHash(a, hashCredential('secret-b')));
  assert.ok(!sameHash(a, 'abcd'));
});

test('timestamps use the spec form', () => {
  assert.equal(formatTimestamp(Date.UTC(2024, 0, 1, 0, 0, 0, 999)), '2024-01-01T00:00:00Z');
});

const instance = (status: InstanceStatus, desired: 'RUNNING' | 'TERMINATED' | 'SUSPENDED' = 'RUNNING') => ({ id: 'tw-000000-00000000', status, desired });

test('power state machine: accepted no-ops', () => {
  assert.deepEqual(planPowerOperation(instance('RUNNING'), 'start'), { kind: 'noop' });
  assert.deepEqual(planPowerOperation(instance('TERMINATED', 'TERMINATED'), 'stop'), { kind: 'noop' });
});

test('power state machine: changes and the status shown at once', () => {
  assert.deepEqual(planPowerOperation(instance('RUNNING'), 'stop'), {
    kind: 'change',
    change: { desired: 'TERMINATED', status: 'STOPPING', requestReset: false },
  });
  assert.deepEqual(planPowerOperation(instance('TERMINATED', 'TERMINATED'), 'start'), {
    kind: 'change',
    change: { desired: 'RUNNING', status: 'STAGING', requestReset: false },
  });
  for (const op of ['reset', 'restart'] as const) {
    const plan = planPowerOperation(instance('RUNNING'), op);
    assert.equal(plan.kind, 'change');
    assert.ok(plan.kind === 'change' && plan.change.requestReset && plan.change.status === 'RUNNING');
  }
  // A machine that died on its own still wants RUNNING: stop records the new intent.
  assert.equal(planPowerOperation(instance('TERMINATED', 'RUNNING'), 'stop').kind, 'change');
  assert.equal(planPowerOperation(instance('SUSPENDED'), 'start').kind, 'change');
});

test('power state machine: conflicts name the current status', () => {
  for (const status of ['PROVISIONING', 'STOPPING'] as const) {
    for (const op of ['start', 'stop', 'restart', 'reset'] as const) {
      assert.throws(() => planPowerOperation(instance(status), op), (e: unknown) => e instanceof GaleError && e.code === 'conflict' && e.message.includes(status));
    }
  }
  for (const op of ['reset', 'restart'] as const) {
    assert.throws(() => planPowerOperation(instance('TERMINATED', 'TERMINATED'), op), /TERMINATED/);
  }
});

test('power state machine: suspend and resume', () => {
  assert.deepEqual(planPowerOperation(instance('RUNNING'), 'suspend'), {
    kind: 'change',
    change: { desired: 'SUSPENDED', status: 'SUSPENDING', requestReset: false },
  });
  assert.deepEqual(planPowerOperation(instance('SUSPENDED', 'SUSPENDED'), 'suspend'), { kind: 'noop' });
  assert.deepEqual(planPowerOperation(instance('SUSPENDED', 'SUSPENDED'), 'resume'), {
    kind: 'change',
    change: { desired: 'RUNNING', status: 'STAGING', requestReset: false },
  });
  assert.deepEqual(planPowerOperation(instance('RUNNING'), 'resume'), { kind: 'noop' });
  assert.equal(planPowerOperation(instance('SUSPENDED', 'SUSPENDED'), 'stop').kind, 'change', 'a suspended instance can be stopped');
  for (const [status, op] of [['TERMINATED', 'suspend'], ['TERMINATED', 'resume'], ['SUSPENDING', 'stop'], ['SUSPENDING', 'resume'], ['SUSPENDED', 'reset']] as const) {
    assert.throws(() => planPowerOperation(instance(status, 'TERMINATED'), op), (e: unknown) => e instanceof GaleError && e.code === 'conflict' && e.message.includes(status));
  }
  assert.throws(() => planPowerOperation(instance('RUNNING'), 'suspend', false), /cannot suspend machines/);
});

test('quota: each limit, its value and the tier are named', () => {
  const pro = DEFAULT_TIERS.pro!;
  assert.equal(quotaViolation(pro, { instances: 2, vcpus: 4, diskGb: 100 }, { vcpus: 2, diskGb: 50 }), undefined);
  assert.equal(quotaViolation(pro, { instances: 3, vcpus: 6, diskGb: 150 }, { vcpus: 2, diskGb: 50 }), 'quota exceeded: instances 3/3 (tier pro)');
  assert.equal(
    quotaViolation(pro, { instances: 1, vcpus: 8, diskGb: 50 }, { vcpus: 2, diskGb: 50 }),
    'quota exceeded: vcpus 8/8, this instance needs 2 (tier pro)',
  );
  assert.match(quotaViolation(pro, { instances: 1, vcpus: 0, diskGb: 190 }, { vcpus: 2, diskGb: 50 }) ?? '', /disk_gb 190\/200/);
  const free = DEFAULT_TIERS.free!;
  assert.equal(quotaViolation(free, { instances: 0, vcpus: 0, diskGb: 0 }, { vcpus: 2, diskGb: 50 }), undefined, 'the spec template fits the free tier');
});

test('reconcile planner: level-triggered next steps', () => {
  const running = { status: 'RUNNING' as const, internalIp: '', externalIp: '' };
  const stopped = { ...running, status: 'TERMINATED' as const };
  const want = (desired: 'RUNNING' | 'TERMINATED' | 'SUSPENDED', extra: Partial<{ deleted: boolean; resetPending: boolean }> = {}) => ({
    deleted: false,
    resetPending: false,
    desired,
    ...extra,
  });
  assert.equal(nextAction(want('RUNNING'), null), 'create');
  assert.equal(nextAction(want('TERMINATED'), null), 'done');
  assert.equal(nextAction(want('RUNNING'), stopped), 'start');
  assert.equal(nextAction(want('RUNNING'), running), 'done');
  assert.equal(nextAction(want('RUNNING', { resetPending: true }), running), 'reset');
  assert.equal(nextAction(want('TERMINATED'), running), 'stop');
  assert.equal(nextAction(want('TERMINATED', { resetPending: true }), stopped), 'done');
  assert.equal(nextAction(want('RUNNING', { deleted: true }), running), 'delete');
  assert.equal(nextAction(want('RUNNING', { deleted: true }), null), 'done');
  assert.equal(nextAction(want('RUNNING'), { ...running, status: 'STAGING' }), 'wait');
  assert.equal(nextAction(want('RUNNING'), { ...running, status: 'SUSPENDED' }), 'resume');
  assert.equal(nextAction(want('SUSPENDED'), running), 'suspend');
  assert.equal(nextAction(want('SUSPENDED'), { ...running, status: 'SUSPENDING' }), 'wait');
  assert.equal(nextAction(want('SUSPENDED'), { ...running, status: 'SUSPENDED' }), 'done');
  assert.equal(nextAction(want('TERMINATED'), { ...running, status: 'SUSPENDED' }), 'stop');
  assert.equal(nextAction(want('SUSPENDED'), stopped), 'done', 'nothing left to suspend');
});

test('catalog: zones default to {region}-a and must lie in the template region', () => {
  const catalog = new CatalogIndex(DEFAULT_CATALOG);
  const placed = catalog.place('ubuntu-22-standard', undefined);
  assert.equal(placed.zone, 'us-central1-a');
  assert.equal(placed.machineType.vcpus, 2);
  assert.equal(machineTypePath(placed.zone, placed.machineType.name), 'zones/us-central1-a/machineTypes/n1-standard-2');
  assert.throws(() => catalog.place('ubuntu-22-standard', 'europe-west1-b'), (e: unknown) => e instanceof GaleError && e.code === 'invalid_request');
  assert.throws(() => catalog.place('ubuntu-22-standard', 'mars-1-a'), (e: unknown) => e instanceof GaleError && e.code === 'invalid_request');
  assert.throws(() => catalog.place('nope', undefined), (e: unknown) => e instanceof GaleError && e.code === 'not_found');
  assert.deepEqual(catalog.zonesOf(placed.template), ['us-central1-a', 'us-central1-b', 'us-central1-c']);
});
