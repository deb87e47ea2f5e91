import { request as httpRequest } from 'node:http';

/*
 * The API family's public Go SDK (its compute client), as it behaves on the wire: what it sends, and how it decodes
 * what comes back. No Go toolchain or module cache is reachable here, so the SDK cannot be built in the tests; this is
 * its behaviour written out from ../shared/spec/api-family-notes.md and the SDK's public documentation, on raw HTTP
 * so that every header goes out exactly as Go's net/http sends it:
 *
 * - the endpoint is the full API base; paths are appended, ids path-escaped;
 * - every request carries Content-Type: application/json (the compute client always hands the transport a byte slice,
 *   empty when there is no body) and Accept: application/json; POST and DELETE go with Content-Length: 0 when empty,
 *   GET with no length at all; headers in Go's canonical case (Api-Key, Api-Secret);
 * - any status >= 400 is an APIError built from x-error, x-error-id and Retry-After; 204 is success without decoding;
 *   every other 2xx is decoded as JSON into the result type, so an empty or non-JSON body is an error ("unexpected
 *   end of JSON input") even though the server did the work;
 * - Go's decoder matches object keys case-insensitively and ignores unknown ones, but a value of the wrong JSON type
 *   for a field is an error;
 * - GETs are retried on 429, 502, 503 and 504 (Retry-After, else 100 ms x 4^n, 3 times); nothing else is retried.
 */

export type Credentials = { apiKey: string; apiSecret: string } | { bearer: string };

/** What Go's encoding/json would decode into: the SDK's result types, as far as decoding can tell them apart. */
export type GoType = 'string' | 'int' | 'emptyStruct' | { struct: Record<string, GoType> } | { slice: GoType };

export class SdkApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly xError: string,
    readonly errorId: string,
    readonly retryAfter: string,
    readonly body: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${xError} (error id ${errorId})`);
    this.name = 'SdkApiError';
  }
}

/** Go's json.Unmarshal failing: the call fails although the HTTP exchange succeeded. */
export class SdkDecodeError extends Error {
  constructor(message: string) {
    super(`json: ${message}`);
    this.name = 'SdkDecodeError';
  }
}

const STRING: GoType = 'string';
export const GO_INSTANCE: GoType = {
  struct: {
    id: STRING,
    userID: STRING,
    customerID: STRING,
    name: STRING,
    zone: STRING,
    machineType: STRING,
    externalIp: STRING,
    internalIp: STRING,
    status: STRING,
    templateId: STRING,
    createdAt: STRING,
  },
};
export const GO_TEMPLATE: GoType = {
  struct: { id: STRING, name: STRING, description: STRING, machineType: STRING, diskSizeGb: 'int', diskType: STRING, image: STRING, region: STRING },
};
export const GO_ADMIN_LIST: GoType = { struct: { pages: 'int', items: 'int', instances: { slice: GO_INSTANCE } } };

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Decodes like Go's encoding/json into the given type; throws SdkDecodeError where Go would return an error. */
export function goDecode(text: string, type: GoType): unknown {
  if (text.trim() === '') throw new SdkDecodeError('unexpected end of JSON input');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SdkDecodeError(`invalid character in input: ${(error as Error).message}`);
  }
  return decodeValue(value, type, '');
}

function decodeValue(value: unknown, type: GoType, field: string): unknown {
  // null leaves any Go value as it was: no error.
  if (value === null) return null;
  const where = field === '' ? 'Go value' : `Go struct field ${field}`;
  if (type === 'string') {
    if (typeof value !== 'string') throw new SdkDecodeError(`cannot unmarshal ${jsonKind(value)} into ${where} of type string`);
    return value;
  }
  if (type === 'int') {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new SdkDecodeError(`cannot unmarshal ${jsonKind(value)} into ${where} of type int`);
    return value;
  }
  if (type === 'emptyStruct') {
    if (jsonKind(value) !== 'object') throw new SdkDecodeError(`cannot unmarshal ${jsonKind(value)} into ${where} of type struct {}`);
    return {};
  }
  if ('slice' in type) {
    if (!Array.isArray(value)) throw new SdkDecodeError(`cannot unmarshal ${jsonKind(value)} into ${where} of type []T`);
    return value.map((item) => decodeValue(item, type.slice, field));
  }
  if (jsonKind(value) !== 'object') throw new SdkDecodeError(`cannot unmarshal ${jsonKind(value)} into ${where} of type struct`);
  const out: Record<string, unknown> = {};
  // Keys match fields case-insensitively, and unknown keys are skipped, as Go does.
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const name = Object.keys(type.struct).find((candidate) => candidate.toLowerCase() === key.toLowerCase());
    if (name !== undefined) out[name] = decodeValue(item, type.struct[name]!, name);
  }
  return out;
}

interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Every exchange the client made, as sent and as answered, for assertions on the wire. */
export interface Exchange {
  method: string;
  path: string;
  sentHeaders: Record<string, string>;
  answer: WireAnswer;
}

export class GoSdkComputeClient {
  readonly exchanges: Exchange[] = [];
  private readonly url: URL;

  /** endpoint: the full API base, e.g. http://127.0.0.1:8080/api/compute/v1, as the SDK's endpoint option takes it. */
  constructor(endpoint: string, private readonly credentials: Credentials, private readonly maxRetries = 3) {
    this.url = new URL(endpoint);
  }

  createInstance(templateID: string, zone = ''): Promise<unknown> {
    // The SDK's request struct has both fields without omitempty: zone is always sent, empty when not chosen.
    return this.do('POST', '/instances', Buffer.from(JSON.stringify({ templateID, zone })), GO_INSTANCE);
  }
  listInstances(): Promise<unknown> {
    return this.do('GET', '/instances', undefined, { slice: GO_INSTANCE });
  }
  getInstance(id: string): Promise<unknown> {
    return this.do('GET', `/instances/${encodeURIComponent(id)}`, undefined, GO_INSTANCE);
  }
  deleteInstance(id: string): Promise<unknown> {
    return this.do('DELETE', `/instances/${encodeURIComponent(id)}`, undefined, 'emptyStruct');
  }
  power(id: string, operation: 'start' | 'stop' | 'restart' | 'reset'): Promise<unknown> {
    return this.do('POST', `/instances/${encodeURIComponent(id)}/${operation}`, undefined, 'emptyStruct');
  }
  listTemplates(): Promise<unknown> {
    return this.do('GET', '/templates', undefined, { slice: GO_TEMPLATE });
  }
  listTemplateZones(templateID: string): Promise<unknown> {
    return this.do('GET', `/templates/${encodeURIComponent(templateID)}/zones`, undefined, { slice: STRING });
  }
  adminListInstances(options: { limit?: number; page?: number; userID?: string; customerID?: string; status?: string; zone?: string; templateID?: string }): Promise<unknown> {
    const query = new URLSearchParams();
    // Set only when non-zero or non-empty, as the SDK does, and in sorted key order, as Go's url.Values.Encode does.
    const entries: Array<[string, string]> = [];
    if (options.limit) entries.push(['limit', String(options.limit)]);
    if (options.page) entries.push(['page', String(options.page)]);
    if (options.userID) entries.push(['userID', options.userID]);
    if (options.customerID) entries.push(['customerID', options.customerID]);
    if (options.status) entries.push(['status', options.status]);
    if (options.zone) entries.push(['zone', options.zone]);
    if (options.templateID) entries.push(['templateID', options.templateID]);
    for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) query.append(key, value);
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    return this.do('GET', `/admin/instances${suffix}`, undefined, GO_ADMIN_LIST);
  }
  adminGetInstance(id: string): Promise<unknown> {
    return this.do('GET', `/admin/instances/${encodeURIComponent(id)}`, undefined, GO_INSTANCE);
  }
  adminDeleteInstance(id: string): Promise<unknown> {
    return this.do('DELETE', `/admin/instances/${encodeURIComponent(id)}`, undefined, 'emptyStruct');
  }
  adminPower(id: string, operation: 'start' | 'stop' | 'restart' | 'reset'): Promise<unknown> {
    return this.do('POST', `/admin/instances/${encodeURIComponent(id)}/${operation}`, undefined, 'emptyStruct');
  }

  private async do(method: string, path: string, body: Buffer | undefined, out: GoType): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.doOnce(method, path, body, out);
      } catch (error) {
        const retryable = method === 'GET' && error instanceof SdkApiError && [429, 502, 503, 504].includes(error.statusCode);
        if (!retryable || attempt >= this.maxRetries) throw error;
        const seconds = /^\d+$/.test(error.retryAfter) ? Number(error.retryAfter) : 0;
        await new Promise((resolve) => setTimeout(resolve, seconds > 0 ? seconds * 1000 : 100 * 4 ** attempt));
      }
    }
  }

  private async doOnce(method: string, path: string, body: Buffer | undefined, out: GoType): Promise<unknown> {
    const payload = body ?? Buffer.alloc(0);
    const headers: Record<string, string> = {
      Host: this.url.host,
      'User-Agent': 'threatwinds-go-sdk',
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'Accept-Encoding': 'gzip',
    };
    // Go sends a length for a body it has, and Content-Length: 0 for an empty one on every method but GET and HEAD.
    if (payload.length > 0 || (method !== 'GET' && method !== 'HEAD')) headers['Content-Length'] = String(payload.length);
    if ('bearer' in this.credentials) headers.Authorization = `Bearer ${this.credentials.bearer}`;
    else {
      headers['Api-Key'] = this.credentials.apiKey;
      headers['Api-Secret'] = this.credentials.apiSecret;
    }
    const answer = await send(this.url, method, `${this.url.pathname.replace(/\/+$/, '')}${path}`, headers, payload);
    this.exchanges.push({ method, path, sentHeaders: headers, answer });
    if (answer.status >= 400) {
      throw new SdkApiError(method, path, answer.status, answer.headers['x-error'] ?? '', answer.headers['x-error-id'] ?? '', answer.headers['retry-after'] ?? '', answer.body);
    }
    if (answer.status === 204) return undefined;
    return goDecode(answer.body, out);
  }
}

function send(url: URL, method: string, path: string, headers: Record<string, string>, payload: Buffer): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: url.hostname, port: url.port, method, path, headers, setHost: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const flat: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
        resolve({ status: response.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(payload.length > 0 ? payload : undefined);
  });
}
