import { Type } from '@sinclair/typebox';
import { envValue } from '../../env-values.js';
import { defineProvider } from '../descriptor.js';

/** Containers on one or more Docker engines. The settings are here; the provider itself is loaded only when chosen. */
export const dockerProvider = defineProvider({
  name: 'docker',
  summary: 'containers on Docker engines, one engine per zone or one for all',
  settings: Type.Object(
    {
      /** Zone (or "*") -> Docker endpoint: a unix socket path or tcp://host:port. */
      endpoints: Type.Record(Type.String(), Type.String()),
      /** The address reported as the externalIp of running containers; empty reports "". */
      publishHost: Type.String(),
      /** The Docker network containers join; empty: the engine's default bridge. */
      network: Type.String(),
      /** A container removed outside Gale is made anew when its instance should run (machines as cattle). */
      recreateVanished: Type.Boolean(),
    },
    { additionalProperties: false },
  ),
  defaults: { endpoints: { '*': '/var/run/docker.sock' }, publishHost: '', network: '', recreateVanished: false },
  fromEnv: (env) => {
    const host = envValue(env, 'GALE_DOCKER_HOST');
    return host === undefined ? {} : { endpoints: { '*': host.replace(/^unix:\/\//, '') } };
  },
  capabilities: { suspend: true, serialConsole: true, liveWatch: true, recreateVanished: false },
  probe: async (settings) => (await import('./host-check.js')).dockerProblem(settings),
  testing: {
    // No registry in CI: the one image there is, built from the host's busybox (`gale images build`).
    templates: { standard: 'busybox-micro', small: 'busybox-micro' },
    inHttpSuite: true,
    prepare: async (settings) => {
      await (await import('./host-check.js')).buildTestImages(settings);
      return settings;
    },
    operationTimeoutMs: 120_000,
    // The busybox image exits 0 on SIGTERM, so a stop is graceful well within this.
    stopGraceMs: 10_000,
  },
  // Loaded when chosen: dockerode and its SSH transport are tens of megabytes a simulator-only server never needs.
  create: async (settings, context) =>
    (await import('./provider.js')).createDockerProvider({
      ...settings,
      installationId: context.installationId,
      stopGraceMs: context.stopGraceMs,
      // The provider binds provider: 'docker' itself; binding it here too wrote the key twice on every line.
      logger: context.logger,
    }),
});
