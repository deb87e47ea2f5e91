import { GaleApiError, GaleConnectionError, retryAfterSecondsOf } from './errors.js';
import { ROUTES, type RouteEntry } from './generated/routes.js';
import { isRetryableStatus, retryDelayMs, sleep, type RetryClass, type RetryPolicy } from './retry.js';
import type { ApiResponse, CallOptions, OperationId, SuccessOf } from './types.js';

/*
 * The one place a request is sent: authentication, the Idempotency-Key of mutations, retries, and error answers made
 * into GaleApiError. Routes are named by operationId and found in the generated route table.
 */

/** A session token, or an API key pair (the family's clients use one, never both); none for public routes. */
export type Credentials = { token: string; apiKey?: undefined; apiSecret?: undefined } | { apiKey: string; apiSecret: string; token?: undefined };

export interface TransportSettings {
  /** The server's root URL, e.g. http://127.0.0.1:8080 (a trailing /api/compute/v1 is accepted and left off). */
  baseUrl: string;
  credentials: Credentials | undefined;
  retry: RetryPolicy;
  fetch: typeof fetch;
  headers: Record<string, string>;
}

/** One request, as the transport sends it. */
export interface SendRequest {
  method: string;
  /** The path with its parameters filled in. */
  path: string;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  retry: RetryClass;
  /** Sent as Idempotency-Key on every attempt. */
  idempotencyKey?: string | undefined;
  accept?: string;
}

const API_BASE_SUFFIX = /\/api\/compute\/v1\/?$/;

export class Transport {
  readonly root: string;
  private readonly authHeaders: Record<string, string>;

  constructor(readonly settings: TransportSettings) {
    this.root = settings.baseUrl.replace(/\/+$/, '').replace(API_BASE_SUFFIX, '');
    const credentials = settings.credentials;
    this.authHeaders =
      credentials === undefined
        ? {}
        : credentials.token !== undefined
          ? { authorization: `Bearer ${credentials.token}` }
          : { 'api-key': credentials.apiKey, 'api-secret': credentials.apiSecret };
  }

  /** Calls a route by its operationId and decodes its answer. */
  async call<K extends OperationId>(operationId: K, options: CallOptions<K> | undefined): Promise<ApiResponse<SuccessOf<K>>> {
    const route: RouteEntry = ROUTES[operationId];
    const params = (options?.path ?? {}) as Record<string, string | number>;
    const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined || value === '') throw new TypeError(`${operationId} needs the path parameter ${name}`);
      return encodeURIComponent(String(value));
    });
    const safe = route.method === 'GET' || route.method === 'HEAD' || options?.safe === true;
    const response = await this.send({
      method: route.method,
      path,
      query: options?.query as Record<string, unknown> | undefined,
      body: options?.body,
      headers: options?.headers,
      signal: options?.signal,
      retry: safe ? 'safe' : route.idempotent ? 'idempotent' : 'none',
      idempotencyKey: route.idempotent ? (options?.idempotencyKey ?? globalThis.crypto.randomUUID()) : undefined,
    });
    return { data: (await decode(response)) as SuccessOf<K>, status: response.status, headers: response.headers };
  }

  /**
   * Sends a request, retrying it as its class allows, and answers the first 2xx response with its body unread;
   * an error answer is thrown as GaleApiError, a server that cannot be reached as GaleConnectionError.
   */
  async send(request: SendRequest): Promise<Response> {
    const url = this.urlOf(request.path, request.query);
    const headers: Record<string, string> = { accept: request.accept ?? 'application/json', ...this.settings.headers, ...request.headers, ...this.authHeaders };
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    let body: string | undefined;
    if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['content-type'] = 'application/json';
    }
    const policy = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await this.settings.fetch(url, { method: request.method, headers, body, signal: request.signal });
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        failure = error;
      }
      if (response?.ok) return response;
      const retryable = response === undefined ? request.retry !== 'none' : isRetryableStatus(request.retry, response.status);
      const delayMs = retryable && attempt <= policy.retries ? retryDelayMs(policy, attempt, response && retryAfterSecondsOf(response.headers)) : undefined;
      if (delayMs === undefined) {
        if (response === undefined) throw new GaleConnectionError(request.method, url, failure);
        throw GaleApiError.of(request.method, request.path, response, await response.text());
      }
      await response?.body?.cancel().catch(() => undefined);
      policy.onRetry?.({ method: request.method, path: request.path, attempt, delayMs, status: response?.status, idempotencyKey: request.idempotencyKey });
      await sleep(delayMs, request.signal);
    }
  }

  urlOf(path: string, query?: Record<string, unknown>): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      search.append(name, Array.isArray(value) ? value.join(',') : String(value));
    }
    const text = search.toString();
    return `${this.root}${path}${text ? `?${text}` : ''}`;
  }
}

/** A 2xx body: JSON when it says so, text otherwise, undefined when empty (204, or a 202 of compat.emptyAccepted). */
async function decode(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  const type = response.headers.get('content-type') ?? '';
  return type.includes('json') ? JSON.parse(text) : text;
}
