import type { RequestOptions } from './instances.js';
import { itemsOf, pagesOf } from './paging.js';
import type { Transport } from './transport.js';
import type { Operation, OperationList, QueryOf, Template } from './types.js';

/** Accepted changes: looked up, listed a page at a time, waited on. */
export class Operations {
  constructor(private readonly transport: Transport) {}

  async get(id: string, options?: RequestOptions): Promise<Operation> {
    return (await this.transport.call('getOperation', { ...options, path: { id } })).data;
  }

  /** One page of the caller's operations, newest first, filtered by instanceId and status. */
  async list(query?: QueryOf<'listOperations'>, options?: RequestOptions): Promise<OperationList> {
    return (await this.transport.call('listOperations', { ...options, query })).data;
  }

  pages(query?: QueryOf<'listOperations'>, options?: RequestOptions): AsyncGenerator<OperationList, void, undefined> {
    return pagesOf(this.transport, 'listOperations', { ...options, query });
  }

  all(query?: QueryOf<'listOperations'>, options?: RequestOptions): AsyncGenerator<Operation, void, undefined> {
    return itemsOf(this.transport, 'listOperations', { ...options, query });
  }

  /** One server-side wait (at most a minute): the operation DONE or FAILED, or as it stands when the timeout passes. */
  async wait(id: string, query?: QueryOf<'waitOperation'>, options?: RequestOptions): Promise<Operation> {
    return (await this.transport.call('waitOperation', { ...options, path: { id }, query, safe: true })).data;
  }
}

/** What instances are made from, and where. */
export class Templates {
  constructor(private readonly transport: Transport) {}

  async list(options?: RequestOptions): Promise<Template[]> {
    return (await this.transport.call('listTemplates', options)).data;
  }

  /** The zones a template's instances can be created in. */
  async zones(templateId: string, options?: RequestOptions): Promise<string[]> {
    return (await this.transport.call('listTemplateZones', { ...options, path: { templateID: templateId } })).data;
  }
}
