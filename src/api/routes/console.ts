import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { GaleApp } from '../services.js';

/*
 * The web console (console/, docs/console.md): the static files `npm run build` leaves in console/dist, served at
 * /console. They are read once, at start, into memory: the set of answers is fixed, and no request path ever reaches
 * the file system. The routes are public (the page signs in through the API like any client) and hidden from the
 * OpenAPI document, which describes the API only.
 */

/** console/dist, from src/api/routes (tsx) and from dist/api/routes (the build) alike. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/**
 * The console's own policy, in place of the API's `default-src 'none'`: its scripts, styles and API calls come from
 * this origin only, nothing inline, and nothing may frame it or be posted anywhere by a form.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface StaticFile {
  body: Buffer;
  type: string;
  /** Vite names what it emits under assets/ by content hash: such a file never changes under its name. */
  immutable: boolean;
}

function readTree(root: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const key = relative(root, path).split(sep).join('/');
        files.set(key, { body: readFileSync(path), type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: key.startsWith('assets/') });
      }
    }
  };
  walk(root);
  return files;
}

const MISSING_BUILD =
  'The Gale web console is not built: run `npm run build` (or `npm run build:console`) in the Gale checkout, then restart the server.\n';

export function registerConsole(app: GaleApp, root: string = CONSOLE_DIST): void {
  const files = existsSync(join(root, 'index.html')) ? readTree(root) : undefined;

  // The cache policy is said here and set in onSend, after the API's no-store (security.ts) has been written.
  const caching = new WeakMap<FastifyReply, string>();
  const send = (reply: FastifyReply, file: StaticFile) => {
    caching.set(reply, file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.header('content-type', file.type).send(file.body);
  };

  const answer = (path: string, reply: FastifyReply) => {
    if (!files) return reply.code(503).header('content-type', 'text/plain; charset=utf-8').header('retry-after', '60').send(MISSING_BUILD);
    const file = files.get(path);
    if (file) return send(reply, file);
    // Unknown assets are 404s (a stale page asking for an old bundle must not get HTML back); anything else is the page.
    if (path.startsWith('assets/') || extname(path) !== '') {
      return reply.code(404).header('content-type', 'text/plain; charset=utf-8').send('Not found in the Gale console\n');
    }
    return send(reply, files.get('index.html') as StaticFile);
  };

  const options = {
    config: { access: 'public' as const },
    schema: { hide: true },
    // Route hooks run after the app's: this replaces the API's CSP and no-store (security.ts) on these answers only.
    onSend: (_request: unknown, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('cache-control', (reply.statusCode < 400 && caching.get(reply)) || 'no-store');
      done(null, payload);
    },
  };
  app.get('/console', options, (_request, reply) => answer('index.html', reply));
  app.get<{ Params: { '*': string } }>('/console/*', options, (request, reply) => answer(request.params['*'] || 'index.html', reply));
}
