import type { Command } from 'commander';
import { loadConfig, type ConfigOverrides } from '../config/load.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the API server and the reconciler')
    .option('--host <host>', 'address to listen on (GALE_HOST)')
    .option('--port <port>', 'port to listen on (GALE_PORT)')
    .option('--data-dir <dir>', 'directory for the SQLite store (GALE_DATA_DIR)')
    .option('--provider <name>', 'simulator, docker or qemu (GALE_PROVIDER)')
    .action(async (flags: { host?: string; port?: string; dataDir?: string; provider?: string }) => {
      const overrides: ConfigOverrides = {};
      if (flags.host) overrides.host = flags.host;
      if (flags.port) overrides.port = Number(flags.port);
      if (flags.dataDir) overrides.dataDir = flags.dataDir;
      if (flags.provider) overrides.provider = flags.provider;
      const config = loadConfig({ flags: overrides });
      // Loaded here: the server's modules (Fastify, the store, the providers) are for serve alone, not every command.
      const { startServer } = await import('../main.js');
      const server = await startServer(config).catch((error: unknown) => {
        // Nothing is left open by a failed start, but exit explicitly rather than trust every client library.
        process.stderr.write(`gale: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      });
      let signals = 0;
      const shutdown = (signal: string): void => {
        signals += 1;
        if (signals > 1) {
          server.logger.warn({ signal }, 'second signal: exiting at once');
          process.exit(1);
        }
        server.logger.info({ signal }, 'shutting down: finishing in-flight requests and reconciler work');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            server.logger.error({ err: error }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}
