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
  create: async (settings, context) =>
    createSimulatorProvider({
      state: context.state,
      installationId: context.installationId,
      clock: context.clock,
      delayMs: settings.delayMs,
      logger: context.logger.child({ provider: 'simulator' }),
    }),
});
