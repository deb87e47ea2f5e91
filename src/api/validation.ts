import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

/*
 * Two validators: bodies are JSON, and a wrong type there is the client's error to hear about (123 must not quietly
 * become "123"); query strings, path parameters and headers are text, so their declared integers are read from it
 * (page=2). Both are Fastify's own compiler, with formats.
 */
const BASE = { removeAdditional: false, allErrors: false, useDefaults: true } as const;

export function schemaController(): NonNullable<FastifyServerOptions['schemaController']> {
  const build = AjvCompiler();
  return {
    compilersFactory: {
      // Fastify's `ajv` server option is not used by Gale: these two are the whole configuration.
      buildValidator(externalSchemas) {
        const strict = build(externalSchemas, { customOptions: { ...BASE, coerceTypes: false } });
        const coercing = build(externalSchemas, { customOptions: { ...BASE, coerceTypes: true } });
        return (route) => (route.httpPart === 'body' ? strict : coercing)(route);
      },
    },
  };
}
