import assert from 'node:assert/strict';

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

/** One HTTP call against a test server; the body is parsed when it is JSON. */
export async function call<T = unknown>(
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
  if (text && (response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
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
