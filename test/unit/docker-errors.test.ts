import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStaleTask, staleEndpointOf } from '../../src/providers/docker/errors.js';

/** An Engine API failure as dockerode reports it: the status, and the engine's JSON body. */
function engineError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), { statusCode, json: { message } });
}

test('containerd state left by a start cut off by an engine restart is told apart from other start failures', () => {
  // Both forms dockerd 20.10 answers to every later start of such a container.
  assert.equal(isStaleTask(engineError(500, 'task 4f2a9c0e1b7d: already exists')), true);
  assert.equal(isStaleTask(engineError(500, 'id already in use')), true);
  // runc's state directory left behind (moby#39630).
  assert.equal(isStaleTask(engineError(500, 'OCI runtime create failed: container with id exists: 4911e3a3407a: unknown')), true);
  // Transient or unrelated failures are retried as they are, never mistaken for it.
  assert.equal(isStaleTask(engineError(500, 'transport is closing: unavailable')), false);
  assert.equal(isStaleTask(engineError(403, 'endpoint with name gale-tw-1 already exists in network bridge')), false);
  assert.equal(isStaleTask(engineError(409, 'id already in use')), false, 'only as a server error');
  assert.equal(isStaleTask(new Error('connect ENOENT /var/run/docker.sock')), false);
});

test('a network endpoint left behind by the container\'s name is told apart, with its name and network', () => {
  assert.deepEqual(staleEndpointOf(engineError(403, 'endpoint with name gale-tw-aaaaaa-00000001 already exists in network bridge')), {
    name: 'gale-tw-aaaaaa-00000001',
    network: 'bridge',
  });
  assert.equal(staleEndpointOf(engineError(500, 'endpoint with name gale-tw-1 already exists in network bridge')), undefined, 'only as a 403');
  assert.equal(staleEndpointOf(engineError(403, 'operation not permitted')), undefined);
  assert.equal(staleEndpointOf(new Error('connect ENOENT /var/run/docker.sock')), undefined);
});
