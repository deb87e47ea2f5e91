import { GaleApiError } from './errors.js';
import { itemsOf, pagesOf } from './paging.js';
import type { Transport } from './transport.js';
import type { AdminInstanceList, ApiResponse, CallBasics, CallOptions, CreateInstanceRequest, Instance, Operation, QueryOf, SerialPortOutput, SuccessOf } from './types.js';

/** What any call may be given: a signal to abort it, extra headers. */
export type RequestOptions = Pick<CallBasics, 'signal' | 'headers'>;
/** A mutation may also be given its Idempotency-Key (else a new UUID is sent, the same on every retry). */
export type MutationOptions = RequestOptions & Pick<CallBasics, 'idempotencyKey'>;

/** Routes the user and the admin scope both have, under the same name but for an `admin` prefix, with the same types. */
export type SharedInstanceOperation =
  | 'getInstance'
  | 'deleteInstance'
  | 'waitInstance'
  | 'getSerialPortOutput'
  | 'startInstance'
  | 'stopInstance'
  | 'restartInstance'
  | 'resetInstance'
  | 'suspendInstance'
  | 'resumeInstance';
type PowerOperation = 'startInstance' | 'stopInstance' | 'restartInstance' | 'resetInstance' | 'suspendInstance' | 'resumeInstance';

/**
 * What can be done to one instance. The user scope acts on the caller's instances; the admin scope (compute_admin)
 * on anyone's, through the /admin routes. The types are the user routes'; that the admin routes' are the same is
 * checked by test/client/types.test.ts.
 */
export class InstanceActions {
  constructor(
    protected readonly transport: Transport,
    private readonly scope: 'user' | 'admin',
  ) {}

  protected call<K extends SharedInstanceOperation>(operationId: K, options: CallOptions<K>): Promise<ApiResponse<SuccessOf<K>>> {
    const routed = this.scope === 'admin' ? `admin${operationId[0]!.toUpperCase()}${operationId.slice(1)}` : operationId;
    return this.transport.call(routed as K, options);
  }

  async get(id: string, options?: RequestOptions): Promise<Instance> {
    return (await this.call('getInstance', { ...options, path: { id } })).data;
  }

  /** Deletes the instance; the operation that carries it out can be waited for (waitForOperation). */
  async delete(id: string, options?: MutationOptions): Promise<{ operationId: string }> {
    const { headers } = await this.call('deleteInstance', { ...options, path: { id } });
    return { operationId: headers.get('x-operation-id') ?? '' };
  }

  start(id: string, options?: MutationOptions): Promise<Operation> {
    return this.power('startInstance', id, options);
  }

  stop(id: string, options?: MutationOptions): Promise<Operation> {
    return this.power('stopInstance', id, options);
  }

  restart(id: string, options?: MutationOptions): Promise<Operation> {
    return this.power('restartInstance', id, options);
  }

  reset(id: string, options?: MutationOptions): Promise<Operation> {
    return this.power('resetInstance', id, options);
  }

  suspend(id: string, options?: MutationOptions): Promise<Operation> {
    return this.power('suspendInstance', id, options);
  }

  resume(id: string, options?: MutationOptions): Promise<Operation> {
    return this.power('resumeInstance', id, options);
  }

  /** One server-side wait (at most a minute): 408 when it passes first. waitForStatus waits as long as asked. */
  async wait(id: string, query?: QueryOf<'waitInstance'>, options?: RequestOptions): Promise<Instance> {
    return (await this.call('waitInstance', { ...options, path: { id }, query })).data;
  }

  async serialPortOutput(id: string, query?: QueryOf<'getSerialPortOutput'>, options?: RequestOptions): Promise<SerialPortOutput> {
    return (await this.call('getSerialPortOutput', { ...options, path: { id }, query })).data;
  }

  private async power(operationId: PowerOperation, id: string, options?: MutationOptions): Promise<Operation> {
    const { data, headers } = await this.call(operationId, { ...options, path: { id } });
    if (data !== undefined) return data;
    // A server with compat.emptyAccepted answers the spec's literal empty 202: the operation is read by its id.
    const accepted = headers.get('x-operation-id');
    if (!accepted) throw new TypeError(`POST ${operationId} answered 202 with neither an operation nor x-operation-id`);
    return (await this.transport.call('getOperation', { path: { id: accepted }, signal: options?.signal })).data;
  }
}

/** The caller's own instances. */
export class Instances extends InstanceActions {
  constructor(transport: Transport) {
    super(transport, 'user');
  }

  /** Creates an instance from a template (templateId, or the spellings template_id and templateID), in a zone or the default one. */
  async create(request: CreateInstanceRequest, options?: MutationOptions): Promise<Instance> {
    return (await this.transport.call('createInstance', { ...options, body: request })).data;
  }

  /** Every instance of the caller, newest first; empty where the API answers 404 "No instances found for user". */
  async list(options?: RequestOptions): Promise<Instance[]> {
    try {
      return (await this.transport.call('listInstances', options)).data;
    } catch (error) {
      if (error instanceof GaleApiError && error.status === 404) return [];
      throw error;
    }
  }
}

/** Every user's instances, for the compute_admin role. */
export class AdminInstances extends InstanceActions {
  constructor(transport: Transport) {
    super(transport, 'admin');
  }

  /** One page, by page number or pageToken, with the filters (userID, customerID, status, zone, templateID). */
  async list(query?: QueryOf<'adminListInstances'>, options?: RequestOptions): Promise<AdminInstanceList> {
    return (await this.transport.call('adminListInstances', { ...options, query })).data;
  }

  /** Every page from the first (or query.pageToken's), by nextPageToken. */
  pages(query?: QueryOf<'adminListInstances'>, options?: RequestOptions): AsyncGenerator<AdminInstanceList, void, undefined> {
    return pagesOf(this.transport, 'adminListInstances', { ...options, query });
  }

  /** Every matching instance, across every page. */
  all(query?: QueryOf<'adminListInstances'>, options?: RequestOptions): AsyncGenerator<Instance, void, undefined> {
    return itemsOf(this.transport, 'adminListInstances', { ...options, query });
  }
}
