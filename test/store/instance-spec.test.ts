import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instanceSpec, type InstanceSpec } from '../../src/domain/instance-spec.js';
import { machineSpecOf } from '../../src/reconciler/reconcile-instance.js';
import { forEachStore } from '../helpers/stores.js';
import { addUser, create } from './fixtures.js';

/*
 * A spec travels whole from create to the provider: stored as JSON, read back by the claim, handed on in MachineSpec,
 * with nothing in between that names its fields. So a field added to it (labels, first-boot metadata) needs no
 * migration and no layer copies it; and one written by a newer replica is kept, not dropped, by an older one.
 */

const imageFor = (templateId: string): string => `image-of-${templateId}`;

await forEachStore((factory) => {
  test('a spec goes from create through the claim to MachineSpec whole, fields this code does not know included', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    // As a newer replica would write it: a later version, with fields of its own.
    const written = { version: 2, labels: { team: 'storage' }, firstBoot: { script: '#!/bin/sh\necho hi', retries: 3 } } as unknown as InstanceSpec;
    const made = await create(store, user.id, { spec: written });
    assert.deepEqual(made.spec, written);

    // Another replica reads it back, as the API (summary, record) and as the reconciler (claim).
    const replica = await store.openAnother();
    assert.deepEqual((await replica.getInstanceSummary(made.id))?.spec, written);
    assert.deepEqual((await replica.getInstance(made.id))?.spec, written);
    const [claimed] = await replica.claimDue('r1', made.createdAt, 1_000, 10);
    assert.equal(claimed?.id, made.id);
    const machine = machineSpecOf(claimed!, imageFor);
    assert.deepEqual(machine, {
      instanceId: made.id,
      userId: user.id,
      zone: made.zone,
      templateId: made.templateId,
      image: 'image-of-ubuntu-22-standard',
      machineType: made.machineType,
      vcpus: made.vcpus,
      memoryMb: made.memoryMb,
      diskGb: made.diskGb,
      spec: written,
    });
  });

  test('a spec of this version is kept as written', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const made = await create(store, user.id, { spec: instanceSpec() });
    const [claimed] = await store.claimDue('r1', made.createdAt, 1_000, 10);
    assert.deepEqual(machineSpecOf(claimed!, imageFor).spec, { version: 1 });
    assert.deepEqual((await store.listUserInstances(user.id)).map((summary) => summary.spec), [{ version: 1 }]);
  });
});
