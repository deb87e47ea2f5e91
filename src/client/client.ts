import type { InstanceView } from '../contracts/instance.js';
import type { TemplateView } from '../contracts/catalog.js';
import type { QuotasView } from '../contracts/quota.js';
import type { ErrorEnvelope } from '../contracts/error.js';
import type { PowerOperation } from '../domain/instance.js';

export type ClientCredentials = { token: string } | { apiKey: string; apiSecret: string };

/** An error answer of the API, with its envelope. */
export class GaleApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly errorId: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'GaleApiError';
  }
}

/**
 * Typed HTTP client of the Compute Instance API, built on the same contracts as the server.
 * GETs are retried on 429/502/503/504 as the family's clients do: honour Retry-After, else 100 ms x 4^n, 3 times.
 */
export class GaleClient {
  private readonly base: string;
  private readonly auth: Record<string, string>;

  constructor(baseUrl: string, credentials: ClientCredentials, private readonly retries = 3) {
    this.base = `${baseUrl.replace(/\/+$/, '')}/api/compute/v1`;
    this.auth = 'token' in credentials ? { authorization: `Bearer ${credentials.token}` } : { 'api-key': credentials.apiKey, 'api-secret': credentials.apiSecret };
  }

  listTemplates(): Promise<TemplateView[]> {
    return this.request('GET', '/templates');
  }

  listZones(templateId: string): Promise<string[]> {
    return this.request('GET', `/templates/${encodeURIComponent(templateId)}/zones`);
  }

  createInstance(templateId: string, zone?: string): Promise<InstanceView> {
    return this.request('POST', '/instances', zone === undefined ? { template_id: templateId } : { template_id: templateId, zone });
  }

  /** The caller's instances; an empty list where the API answers 404 "No instances found for user". */
  async listInstances(): Promise<InstanceView[]> {
    try {
      return await this.request<InstanceView[]>('GET', '/instances');
    } catch (error) {
      if (error instanceof GaleApiError && error.status === 404) return [];
      throw error;
    }
  }

  getInstance(id: string): Promise<InstanceView> {
    return this.request('GET', `/instances/${encodeURIComponent(id)}`);
  }

  deleteInstance(id: string): Promise<void> {
    return this.request('DELETE', `/instances/${encodeURIComponent(id)}`);
  }

  power(id: string, operation: PowerOperation): Promise<void> {
    return this.request('POST', `/instances/${encodeURIComponent(id)}/${operation}`);
  }

  quotas(): Promise<QuotasView> {
    return this.request('GET', '/quotas');
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${this.base}${path}`, {
        method,
        headers: { accept: 'application/json', ...this.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const retryable = method === 'GET' && [429, 502, 503, 504].includes(response.status) && attempt < this.retries;
      if (retryable) {
        const after = Number(response.headers.get('retry-after'));
        await new Promise((resolve) => setTimeout(resolve, after > 0 ? after * 1000 : 100 * 4 ** attempt));
        continue;
      }
      const text = await response.text();
      if (!response.ok) {
        const envelope = (text ? JSON.parse(text) : undefined) as ErrorEnvelope | undefined;
        throw new GaleApiError(response.status, envelope?.error.code ?? 'unknown', envelope?.error.error_id ?? '', envelope?.error.message ?? response.statusText);
      }
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }
}
