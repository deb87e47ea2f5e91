import type { FastifyRequest } from 'fastify';
import { GaleError } from '../domain/errors.js';
import type { GaleApp } from './services.js';

/*
 * Gale's request bodies are JSON or nothing. The family's clients send `Content-Type: application/json` on every
 * request, bodiless power operations and deletes included (with Content-Length: 0), so an empty body is "no body"
 * whatever its Content-Type says; a route that takes a body then refuses it in validation (400). A body that is not
 * JSON (text/plain, a form, no Content-Type at all) answers 415 on every route.
 */

const JSON_TYPE = 'application/json';

/** The route declares a body schema: it reads a body, so one in another format is refused by name. */
function takesBody(request: FastifyRequest): boolean {
  return request.routeOptions.schema?.body !== undefined;
}

function notJson(request: FastifyRequest): GaleError {
  const given = request.headers['content-type'];
  const what = given === undefined || given === '' ? 'a body without Content-Type' : `Content-Type ${given.split(';', 1)[0]}`;
  const route = takesBody(request) ? 'this route takes a JSON object' : 'this route takes no body';
  return new GaleError('unsupported_media_type', `${what} is not accepted: ${route}; send ${JSON_TYPE} or nothing`);
}

export function registerBodyParsing(app: GaleApp): void {
  // Fastify's own JSON parser, kept for its protection against __proto__ and constructor poisoning.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();

  app.addContentTypeParser(JSON_TYPE, { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body.toString(), done);
  });

  // Any other type, and a body sent without Content-Type (Fastify hands those to the catch-all parser too).
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') done(null, undefined);
    else done(notJson(request), undefined);
  });
}
