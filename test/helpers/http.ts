import assert from 'node:assert/strict';
import { OpenApiValidator, type OpenApiDocument } from './openapi-validator.js';

export interface Credentials {
  userId: string;
  bearer: Record<string, string>;
  keyPair: Record<string, string>;
  apiKey: string;
  token: string;
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

const validators = new Map<string, Promise<OpenApiValidator>>();

/** The validator of the document a server serves, fetched once per server. */
function validatorFor(base: string): Promise<OpenApiValidator> {
  let validator = validators.get(base);
  if (!validator) {
    validator = fetch(`${base}/api/compute/v1/openapi.json`).then(async (response) => {
      assert.equal(response.status, 200, `no OpenAPI document at ${base}`);
      return new OpenApiValidator((await response.json()) as OpenApiDocument);
    });
    validators.set(base, validator);
  }
  return validator;
}

/**
 * One HTTP call against a test server; the body is parsed when it is JSON. Every answer, success or error, is checked
 * against the OpenAPI document the server serves: a test fails on an answer the document does not describe.
 */
export async function call<T = unknown>(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<Answer<T>> {
  const answer = await callUnchecked<T>(base, method, path, options);
  const problems = (await validatorFor(base)).check(method, path, answer);
  assert.deepEqual(problems, [], `the answer is not what the OpenAPI document says:\n${problems.join('\n')}`);
  return answer;
}

/** The same call without the check against the document: for servers that are not Gale, or answers cut on purpose. */
export async function callUnchecked<T = unknown>(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  const type = response.headers.get('content-type') ?? '';
  if (text && type.includes('json')) parsed = JSON.parse(text);
  if (type.startsWith('text/event-stream')) parsed = sseMessages(text).map((m) => JSON.parse(m.data) as unknown);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export interface SseMessage {
  id: string | undefined;
  data: string;
}

/** The messages of a Server-Sent Events text (comments and retry lines left out), as a browser's EventSource reads them. */
export function sseMessages(text: string): SseMessage[] {
  const messages: SseMessage[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('id:')) id = line.slice(3).trimStart();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) messages.push({ id, data: data.join('\n') });
  }
  return messages;
}

interface Envelope {
  error: { message: string; type: string; code: string; error_id: string };
}

/** Asserts the family's error envelope and its headers, and returns the envelope. */
export function assertError(answer: Answer, status: number, code: string, message?: RegExp): Envelope['error'] {
  assert.equal(answer.status, status, `expected ${status} ${code}, got ${answer.status}: ${answer.text}`);
  const envelope = answer.body as Envelope;
  assert.ok(envelope && typeof envelope.error === 'object', `no error envelope in ${answer.text}`);
  assert.equal(envelope.error.code, code);
  assert.equal(envelope.error.type, status >= 502 ? 'CRITICAL' : status >= 500 ? 'ERROR' : 'WARNING');
  assert.match(envelope.error.error_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(answer.headers.get('x-error-id'), envelope.error.error_id);
  assert.ok(answer.headers.get('x-error'), 'x-error header missing');
  if (message) assert.match(envelope.error.message, message);
  return envelope.error;
}

/** Polls until check passes or the (generous) deadline passes; no test asserts on time itself. */
export async function eventually<T>(what: string, probe: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!check(last)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await probe();
  }
  return last;
}
