import { ConfigError, envValue } from '../../env-values.js';
import { defineProvider } from '../descriptor.js';
import { ACCELERATORS, NETWORK_MODES, QEMU_DEFAULTS, QemuSettingsSchema, type QemuSettings } from './settings.js';

/** Real virtual machines, one QEMU process each, on the host Gale runs on. */
export const qemuProvider = defineProvider({
  name: 'qemu',
  summary: 'virtual machines under QEMU on this host (KVM when it works, else emulation), one process each',
  settings: QemuSettingsSchema,
  defaults: QEMU_DEFAULTS,
  fromEnv: (env) => {
    const settings: Partial<QemuSettings> = {};
    const accel = envValue(env, 'GALE_QEMU_ACCEL');
    if (accel !== undefined) {
      if (!(ACCELERATORS as readonly string[]).includes(accel)) throw new ConfigError(`GALE_QEMU_ACCEL must be one of ${ACCELERATORS.join(', ')}, got "${accel}"`);
      settings.accel = accel as QemuSettings['accel'];
    }
    const imagesDir = envValue(env, 'GALE_QEMU_IMAGES_DIR');
    if (imagesDir !== undefined) settings.imagesDir = imagesDir;
    const network = envValue(env, 'GALE_QEMU_NETWORK');
    if (network !== undefined) {
      if (!(NETWORK_MODES as readonly string[]).includes(network)) throw new ConfigError(`GALE_QEMU_NETWORK must be one of ${NETWORK_MODES.join(', ')}, got "${network}"`);
      settings.network = network as QemuSettings['network'];
    }
    return settings;
  },
  capabilities: { suspend: true, serialConsole: true, liveWatch: false, recreateVanished: false },
  probe: async (settings) => (await import('./host-check.js')).qemuProblem(settings),
  testing: {
    // Templates that name no VM image of their own boot the fallback image, which `prepare` builds.
    templates: { standard: 'ubuntu-22-standard', small: 'debian-12-micro' },
    inHttpSuite: false,
    prepare: async (settings, dataDir) => (await import('./host-check.js')).prepareTestVms(settings, dataDir),
    // A boot under TCG on a busy host takes minutes.
    operationTimeoutMs: 300_000,
    stopGraceMs: 60_000,
  },
  // Loaded when chosen, as the other backends are.
  create: async (settings, context) => (await import('./create-provider.js')).createQemuProvider(settings, context),
});
