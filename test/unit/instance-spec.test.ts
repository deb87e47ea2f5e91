import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INSTANCE_SPEC_VERSION, instanceSpec, readInstanceSpec } from '../../src/domain/instance-spec.js';

/*
 * The spec's promise (domain/instance-spec.ts): older specs are read upgraded to the current version; a spec written by
 * newer code is read as it is, its unknown fields kept, so that an older replica passes it on whole.
 */

test('a new spec is of the current version', () => {
  assert.deepEqual(instanceSpec(), { version: INSTANCE_SPEC_VERSION });
});

test('a spec from before specs existed (the migration default, or none saved at all) is read upgraded', () => {
  assert.deepEqual(readInstanceSpec({}), { version: 1 });
  assert.deepEqual(readInstanceSpec(undefined), { version: 1 });
  assert.deepEqual(readInstanceSpec(null), { version: 1 });
});

test('a spec of the current version or a newer one is read as it is, fields this code does not know included', () => {
  assert.deepEqual(readInstanceSpec({ version: 1 }), { version: 1 });
  const newer = { version: INSTANCE_SPEC_VERSION + 1, labels: { team: 'storage' }, firstBoot: { script: '#!/bin/sh\necho hi' } };
  assert.deepEqual(readInstanceSpec(structuredClone(newer)), newer);
});

test('a stored spec that is not an object is refused rather than passed on', () => {
  assert.throws(() => readInstanceSpec([1]), /must be a JSON object/);
  assert.throws(() => readInstanceSpec('labels'), /must be a JSON object/);
});
