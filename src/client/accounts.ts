import type { MutationOptions, RequestOptions } from './instances.js';
import { itemsOf, pagesOf } from './paging.js';
import type { Transport } from './transport.js';
import type { BodyOf, ItemOf, QueryOf, SuccessOf } from './types.js';

/*
 * Users and their credentials, for compute admins (the /admin/users, /admin/keys and /admin/tokens routes). Each
 * method is one route, typed by its operationId: adding one is a line here once the types are regenerated.
 */

type User = SuccessOf<'adminGetUser'>;

export class AdminUsers {
  constructor(private readonly transport: Transport) {}

  async create(request: BodyOf<'adminCreateUser'>, options?: MutationOptions): Promise<User> {
    return (await this.transport.call('adminCreateUser', { ...options, body: request })).data;
  }

  async get(userId: string, options?: RequestOptions): Promise<User> {
    return (await this.transport.call('adminGetUser', { ...options, path: { userId } })).data;
  }

  /** One page of users, filtered by email, tier or customerID. */
  async list(query?: QueryOf<'adminListUsers'>, options?: RequestOptions): Promise<SuccessOf<'adminListUsers'>> {
    return (await this.transport.call('adminListUsers', { ...options, query })).data;
  }

  all(query?: QueryOf<'adminListUsers'>, options?: RequestOptions): AsyncGenerator<ItemOf<SuccessOf<'adminListUsers'>>, void, undefined> {
    return itemsOf(this.transport, 'adminListUsers', { ...options, query });
  }

  pages(query?: QueryOf<'adminListUsers'>, options?: RequestOptions): AsyncGenerator<SuccessOf<'adminListUsers'>, void, undefined> {
    return pagesOf(this.transport, 'adminListUsers', { ...options, query });
  }

  async setTier(userId: string, request: BodyOf<'adminSetUserTier'>, options?: MutationOptions): Promise<User> {
    return (await this.transport.call('adminSetUserTier', { ...options, path: { userId }, body: request })).data;
  }

  async setCustomer(userId: string, request: BodyOf<'adminSetUserCustomer'>, options?: MutationOptions): Promise<User> {
    return (await this.transport.call('adminSetUserCustomer', { ...options, path: { userId }, body: request })).data;
  }

  /** A new API key pair for the user: the secret is in this answer only. */
  async createApiKey(userId: string, options?: MutationOptions): Promise<SuccessOf<'adminCreateApiKey'>> {
    return (await this.transport.call('adminCreateApiKey', { ...options, path: { userId } })).data;
  }

  apiKeys(userId: string, query?: QueryOf<'adminListApiKeys'>, options?: RequestOptions): AsyncGenerator<ItemOf<SuccessOf<'adminListApiKeys'>>, void, undefined> {
    return itemsOf(this.transport, 'adminListApiKeys', { ...options, path: { userId }, query });
  }

  async revokeApiKey(keyId: string, options?: MutationOptions): Promise<void> {
    await this.transport.call('adminRevokeApiKey', { ...options, path: { keyId } });
  }

  /** A new session token for the user (ttl: a duration such as 12h): the token is in this answer only. */
  async createToken(userId: string, request: BodyOf<'adminCreateToken'> = {}, options?: MutationOptions): Promise<SuccessOf<'adminCreateToken'>> {
    return (await this.transport.call('adminCreateToken', { ...options, path: { userId }, body: request })).data;
  }

  tokens(userId: string, query?: QueryOf<'adminListTokens'>, options?: RequestOptions): AsyncGenerator<ItemOf<SuccessOf<'adminListTokens'>>, void, undefined> {
    return itemsOf(this.transport, 'adminListTokens', { ...options, path: { userId }, query });
  }

  async revokeToken(tokenId: string, options?: MutationOptions): Promise<void> {
    await this.transport.call('adminRevokeToken', { ...options, path: { tokenId } });
  }
}
