import { AdminUsers } from './accounts.js';
import { streamEvents, type EventsOptions } from './events.js';
import { AdminInstances, Instances, type RequestOptions } from './instances.js';
import { Operations, Templates } from './catalog.js';
import { itemsOf, pagesOf } from './paging.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
import { Transport, type Credentials } from './transport.js';
import type { ApiResponse, CallArgs, CallOptions, InstanceStatus, Instance, ItemOf, Me, Operation, OperationId, PagedOperationId, Quotas, StreamMessage, SuccessOf } from './types.js';
import { waitForOperation, waitForStatus, type StatusWaitOptions, type WaitOptions } from './waits.js';

type NoCredentials = { token?: undefined; apiKey?: undefined; apiSecret?: undefined };

export type GaleOptions = {
  /** The server's root URL, e.g. http://127.0.0.1:8080 (a trailing /api/compute/v1 is accepted). */
  baseUrl: string;
  /** When and how often to retry; the family's defaults (3 retries, 100 ms x 4^n, Retry-After honoured). */
  retry?: Partial<RetryPolicy>;
  /** The fetch to send requests with (a proxy agent's, a test's); the global fetch by default. */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
} & (Credentials | NoCredentials);

/**
 * The typed client of a Gale server's Compute Instance API.
 *
 *   const gale = new Gale({ baseUrl: 'http://127.0.0.1:8080', token });
 *   const instance = await gale.instances.create({ templateId: 'debian-12-micro' });
 *   await gale.waitForStatus(instance.id, 'RUNNING', { timeoutMs: 120_000 });
 *
 * Every route of the served OpenAPI document can be called by its operationId with `call`, typed from the document;
 * the groups (instances, operations, templates, admin.instances, admin.users) name them.
 */
export class Gale {
  readonly instances: Instances;
  readonly admin: { readonly instances: AdminInstances; readonly users: AdminUsers };
  readonly operations: Operations;
  readonly templates: Templates;
  private readonly transport: Transport;

  constructor(options: GaleOptions) {
    const credentials: Credentials | undefined =
      options.token !== undefined ? { token: options.token } : options.apiKey !== undefined ? { apiKey: options.apiKey, apiSecret: options.apiSecret } : undefined;
    this.transport = new Transport({
      baseUrl: options.baseUrl,
      credentials,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      headers: options.headers ?? {},
    });
    this.instances = new Instances(this.transport);
    this.admin = { instances: new AdminInstances(this.transport), users: new AdminUsers(this.transport) };
    this.operations = new Operations(this.transport);
    this.templates = new Templates(this.transport);
  }

  /** Calls any route of the document by its operationId, with its path parameters, query and body as it types them. */
  call<K extends OperationId>(operationId: K, ...[options]: CallArgs<K>): Promise<ApiResponse<SuccessOf<K>>> {
    return this.transport.call(operationId, options);
  }

  /** Who the caller is: their user, roles (compute_admin for an admin) and customer, and the limits of their tier. */
  async me(options?: RequestOptions): Promise<Me> {
    return (await this.transport.call('getMe', options)).data;
  }

  /** The caller's tier, quotas and their use. */
  async quotas(options?: RequestOptions): Promise<Quotas> {
    return (await this.transport.call('getQuotas', options)).data;
  }

  /** Waits until the instance has the status (see waits.ts for what it throws); admin: true for anyone's instance. */
  waitForStatus(id: string, status: InstanceStatus, options?: StatusWaitOptions): Promise<Instance> {
    return waitForStatus(this.transport, id, status, options);
  }

  /** Waits until the operation is DONE; throws OperationFailedError when it fails. */
  waitForOperation(id: string, options?: WaitOptions): Promise<Operation> {
    return waitForOperation(this.transport, id, options);
  }

  /** The caller's events as they happen, resumed across dropped connections (see events.ts). */
  events(options?: EventsOptions): AsyncGenerator<StreamMessage, void, undefined> {
    return streamEvents(this.transport, options);
  }

  /** Every page of a paged list route (listOperations, adminListInstances, ...). */
  pages<K extends PagedOperationId>(operationId: K, options?: CallOptions<K>): AsyncGenerator<SuccessOf<K>, void, undefined> {
    return pagesOf(this.transport, operationId, options);
  }

  /** Every item of every page of a paged list route. */
  all<K extends PagedOperationId>(operationId: K, options?: CallOptions<K>): AsyncGenerator<ItemOf<SuccessOf<K>>, void, undefined> {
    return itemsOf(this.transport, operationId, options);
  }
}
