// The provider contract against a real Docker engine. Run: node --import tsx --test test/providers/contract-docker.test.ts
// (scripts/install-docker.sh starts an engine; without one the suite is skipped, and fails when CI=true.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import Dockerode from 'dockerode';
import { pino } from 'pino';
import type { Provider } from '../../src/domain/provider.js';
import { BUSYBOX_IMAGE_TAG, buildBusyboxImage, createDockerProvider, LABELS, parseEndpoint } from '../../src/providers/docker/index.js';
import { providerContract, type ContractSubject } from './contract.js';

const ENDPOINT = process.env.GALE_DOCKER_HOST ?? '/var/run/docker.sock';
const docker = new Dockerode(parseEndpoint(ENDPOINT));
const problem = await docker.ping().then(
  () => undefined,
  (error: Error) => `no Docker engine at ${ENDPOINT} (${error.message}); run scripts/install-docker.sh`,
);
if (problem && process.env.CI === 'true') {
  test('the Docker engine is reachable (required when CI=true)', () => assert.fail(problem));
}

async function open(): Promise<ContractSubject> {
  // The busybox image exits 0 on SIGTERM, so a stop is graceful; built from the host's busybox when missing.
  await buildBusyboxImage({ docker });
  const installationId = `test-contract-${randomUUID().slice(0, 8)}`;
  const installations = new Set<string>();
  const make = (id: string): Provider => {
    installations.add(id);
    return createDockerProvider({
      endpoints: { '*': ENDPOINT },
      installationId: id,
      publishHost: '198.51.100.7',
      stopGraceMs: 60_000,
      pullTimeoutMs: 20_000,
      logger: pino({ level: 'silent' }),
    });
  };
  const provider = make(installationId);
  return {
    provider,
    installationId,
    openProvider: async (id) => make(id),
    async cleanup() {
      await provider.close();
      for (const id of installations) {
        const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${id}`] } });
        for (const c of left) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
      }
    },
  };
}

providerContract('docker', open, { skip: problem, timeoutMs: 120_000, stopGraceMs: 10_000, spec: { image: BUSYBOX_IMAGE_TAG, templateId: 'busybox-micro' } });
