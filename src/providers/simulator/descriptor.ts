import { Type } from '@sinclair/typebox';
import { envValue, parseInteger } from '../../env-values.js';
import { defineProvider } from '../descriptor.js';
import { createSimulatorProvider } from './simulator-provider.js';

/** Machines that exist only in Gale's store: the default, for development and for emulating the API locally. */
export const simulatorProvider = defineProvider({
  name: 'simulator',
  summary: 'simulated machines kept in the store; every transition takes delayMs',
  settings: Type.Object(
    {
      /** How long each transition (boot, shutdown, suspend...) takes, as a slow real backend would. */
      delayMs: Type.Integer({ minimum: 0 }),
    },
    { additionalProperties: false },
  ),
  defaults: { delayMs: 2000 },
  fromEnv: (env) => {
    const delay = envValue(env, 'GALE_SIM_DELAY_MS');
    return delay === undefined ? {} : { delayMs: parseInteger('GALE_SIM_DELAY_MS', delay) };
  },
  capabilities: { suspend: true, serialConsole: true, liveWatch: true, recreateVanished: false },
  // Nothing outside Gale's own store: usable everywhere.
  probe: async () => undefined,
  testing: {
    templates: { standard: 'ubuntu-22-standard', small: 'debian-12-micro' },
    inHttpSuite: true,
    prepare: async (settings) => ({ ...settings, delayMs: 0 }),
    operationTimeoutMs: 60_000,
    stopGraceMs: 10_000,
    // Transitions that take time: every method must still resolve only once its machine is where it said it would be.
    variants: [{ label: '20 ms transitions', settings: { delayMs: 20 } }],
  },
  create: async (settings, context) =>
    createSimulatorProvider({
      state: context.state,
      installationId: context.installationId,
      clock: context.clock,
      delayMs: settings.delayMs,
      logger: context.logger.child({ provider: 'simulator' }),
    }),
});
