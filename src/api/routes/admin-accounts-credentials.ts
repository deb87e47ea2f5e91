import { Type } from '@sinclair/typebox';
import { createApiKey, createToken, parseDuration, requireUser } from '../../admin/accounts.js';
import { apiKeyView, createdApiKeyView, createdTokenView, tokenView } from '../../admin/views.js';
import {
  ACCOUNT_LIST_DEFAULT_PAGE_SIZE,
  ACCOUNT_LIST_MAX_PAGE_SIZE,
  CreateTokenBodySchema,
  CredentialListQuerySchema,
  KeyIdParamsSchema,
  TokenIdParamsSchema,
  UserIdParamsSchema,
  type CreateTokenBody,
} from '../../contracts/account.js';
import { conflict } from '../../domain/errors.js';
import { IdempotentReplay, type IdempotencyClaim, type StoredResponse } from '../../domain/idempotency.js';
import type { ApiKeyInfo, CreatedCursor, TokenInfo } from '../../domain/store.js';
import { answering, IdempotencyHeadersSchema, idempotencyClaimOf, IdempotencyQuerySchema, replaying } from '../idempotency.js';
import { decodePageToken, encodePageToken } from '../page-tokens.js';
import { principalOf, type ApiServices, type GaleApp } from '../services.js';
import { isCreatedCursor } from './admin-accounts-paging.js';
import { routeSchema } from './route-schema.js';

/*
 * Key pairs and session tokens of a user, for compute admins. The secret is in the creating answer and nowhere else:
 * not in the store, not in the log, and not in the answer kept for an Idempotency-Key. So a repeat of a creation with
 * the same key cannot be answered as the first was; it answers 409 naming the credential that was made (by id and
 * prefix), which the caller can revoke if the first answer was lost. Nothing is made twice either way.
 */

const DEFAULT_TOKEN_TTL = '24h';
const NOT_REPLAYABLE = 'the Idempotency-Key already made a credential, whose secret is not kept and cannot be sent again';

type Kind = 'key' | 'token';
const WORDS: Record<Kind, { one: string; path: string }> = { key: { one: 'api key', path: 'keys' }, token: { one: 'token', path: 'tokens' } };

/** What is kept for a creation's Idempotency-Key: the credential as it is listed, never its secret. */
const receipt = (view: object): StoredResponse => ({ status: 201, body: JSON.stringify(view) });

/** A repeat of a creation: a 409 that says what was made and what to do, since the secret cannot be answered again. */
function notReplayable(kind: Kind, claim: IdempotencyClaim | undefined, replay: IdempotentReplay): Error {
  const made = JSON.parse(replay.response.body) as { id?: string; prefix?: string };
  const { one, path } = WORDS[kind];
  return conflict(
    `Idempotency-Key "${claim?.key ?? ''}" already made ${one} ${made.id ?? ''}${made.prefix ? ` (prefix ${made.prefix})` : ''}; its secret was shown ` +
      `only in that answer and is not kept, so it cannot be sent again. If that answer was lost, revoke it (DELETE /admin/${path}/${made.id ?? '{id}'}) ` +
      'and make another with a new Idempotency-Key',
  );
}

function pageOf<T extends CreatedCursor>(found: T[], pageSize: number, filter: object): { page: T[]; nextPageToken?: string } {
  const page = found.slice(0, pageSize);
  const last = page.at(-1);
  return found.length > pageSize && last ? { page, nextPageToken: encodePageToken({ createdAt: last.createdAt, id: last.id }, filter) } : { page };
}

function createSchema(kind: Kind) {
  const { one } = WORDS[kind];
  return {
    tags: ['admin' as const],
    access: 'admin' as const,
    method: 'POST' as const,
    params: UserIdParamsSchema,
    headers: IdempotencyHeadersSchema,
    querystring: IdempotencyQuerySchema,
    idempotent: true,
    errors: {
      404: 'No such user',
      409: `${NOT_REPLAYABLE}: the message names the ${one} made (id and prefix), to be revoked if the first answer was lost`,
    },
  };
}

function listSchema(kind: Kind) {
  const { one } = WORDS[kind];
  return {
    operationId: kind === 'key' ? 'adminListApiKeys' : 'adminListTokens',
    summary: `List a user's ${WORDS[kind].path}`,
    description:
      `The user's ${one}s, revoked${kind === 'token' ? ' and expired' : ''} ones included, newest first, a page at a time: each with its id, ` +
      'its first 8 characters and its dates, never the secret or a hash of it.',
    tags: ['admin' as const],
    access: 'admin' as const,
    method: 'GET' as const,
    params: UserIdParamsSchema,
    querystring: CredentialListQuerySchema,
    errors: { 400: 'A paging value out of range, a pageToken this server did not give (or gave for another user), or an unknown query parameter', 404: 'No such user' },
  };
}

function revokeSchema(kind: Kind) {
  const { one } = WORDS[kind];
  return {
    operationId: kind === 'key' ? 'adminRevokeApiKey' : 'adminRevokeToken',
    summary: `Revoke a ${one}`,
    description:
      `Every server refuses the ${one} within credentialCacheMs (5 s by default). Revoking a revoked ${one} changes nothing and answers 204 too ` +
      '(the first revocation time is kept).',
    tags: ['admin' as const],
    access: 'admin' as const,
    method: 'DELETE' as const,
    headers: IdempotencyHeadersSchema,
    querystring: IdempotencyQuerySchema,
    success: { status: 204 as const, description: 'Revoked' },
    errors: { 404: `No such ${one}` },
    idempotent: true,
  };
}

export function registerApiKeyRoutes(app: GaleApp, services: ApiServices): void {
  app.post(
    '/admin/users/:userId/keys',
    {
      config: { access: 'admin' },
      schema: routeSchema({
        ...createSchema('key'),
        operationId: 'adminCreateApiKey',
        summary: 'Make a key pair for a user',
        description:
          'A new api-key and api-secret for the user, who can authenticate with them at once. The secret is in this answer only: it is ' +
          'stored as a hash and never shown again. A repeat with the same Idempotency-Key answers 409 (nothing is made twice).',
        success: { status: 201, description: 'Made: the key pair, with its secret (shown only now)', schema: Type.Ref('CreatedApiKey') },
      }),
    },
    async (request, reply) => {
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, services.clock.now(), services.idempotencyKeyTtlMs);
      try {
        const pair = await createApiKey(services.store, services.clock, request.params.userId, answering(claim, (info: ApiKeyInfo) => receipt(apiKeyView(info))));
        return reply.code(201).send(createdApiKeyView(pair));
      } catch (error) {
        throw error instanceof IdempotentReplay ? notReplayable('key', claim, error) : error;
      }
    },
  );

  app.get(
    '/admin/users/:userId/keys',
    { config: { access: 'admin' }, schema: routeSchema({ ...listSchema('key'), success: { status: 200, description: 'A page of key pairs', schema: Type.Ref('ApiKeyList') } }) },
    async (request) => {
      const { userId } = request.params;
      await requireUser(services.store, userId);
      const pageSize = Math.min(request.query.pageSize ?? ACCOUNT_LIST_DEFAULT_PAGE_SIZE, ACCOUNT_LIST_MAX_PAGE_SIZE);
      const after = request.query.pageToken ? decodePageToken(request.query.pageToken, { userId }, isCreatedCursor) : undefined;
      const { page, nextPageToken } = pageOf(await services.store.listApiKeys(userId, after, pageSize + 1), pageSize, { userId });
      return { keys: page.map(apiKeyView), ...(nextPageToken ? { nextPageToken } : {}) };
    },
  );

  app.delete(
    '/admin/keys/:keyId',
    { config: { access: 'admin' }, schema: routeSchema({ ...revokeSchema('key'), params: KeyIdParamsSchema }) },
    async (request, reply) => {
      const now = services.clock.now();
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, now, services.idempotencyKeyTtlMs);
      return replaying(reply, async () => {
        await services.store.revokeApiKeyById(request.params.keyId, now, answering(claim, () => ({ status: 204, body: '' })));
        return reply.code(204).send();
      });
    },
  );
}

export function registerTokenRoutes(app: GaleApp, services: ApiServices): void {
  app.post(
    '/admin/users/:userId/tokens',
    {
      config: { access: 'admin' },
      schema: routeSchema({
        ...createSchema('token'),
        operationId: 'adminCreateToken',
        summary: 'Make a session token for a user',
        description:
          `A new bearer token for the user, living ttl (default ${DEFAULT_TOKEN_TTL}; send {} for it). The token is in this answer only: it is ` +
          'stored as a hash and never shown again. A repeat with the same Idempotency-Key answers 409 (nothing is made twice).',
        body: Type.Unsafe<CreateTokenBody>(Type.Ref(CreateTokenBodySchema.$id!)),
        success: { status: 201, description: 'Made: the token (shown only now)', schema: Type.Ref('CreatedSessionToken') },
        errors: { ...createSchema('token').errors, 400: 'Bad JSON, no body, an unknown field, or a ttl that is not a duration of 1 s to 3650 d' },
      }),
    },
    async (request, reply) => {
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, services.clock.now(), services.idempotencyKeyTtlMs);
      const ttlMs = parseDuration(request.body.ttl ?? DEFAULT_TOKEN_TTL);
      try {
        const made = await createToken(services.store, services.clock, request.params.userId, ttlMs, answering(claim, (info: TokenInfo) => receipt(tokenView(info))));
        return reply.code(201).send(createdTokenView(made));
      } catch (error) {
        throw error instanceof IdempotentReplay ? notReplayable('token', claim, error) : error;
      }
    },
  );

  app.get(
    '/admin/users/:userId/tokens',
    { config: { access: 'admin' }, schema: routeSchema({ ...listSchema('token'), success: { status: 200, description: 'A page of session tokens', schema: Type.Ref('SessionTokenList') } }) },
    async (request) => {
      const { userId } = request.params;
      await requireUser(services.store, userId);
      const pageSize = Math.min(request.query.pageSize ?? ACCOUNT_LIST_DEFAULT_PAGE_SIZE, ACCOUNT_LIST_MAX_PAGE_SIZE);
      const after = request.query.pageToken ? decodePageToken(request.query.pageToken, { userId }, isCreatedCursor) : undefined;
      const { page, nextPageToken } = pageOf(await services.store.listTokens(userId, after, pageSize + 1), pageSize, { userId });
      return { tokens: page.map(tokenView), ...(nextPageToken ? { nextPageToken } : {}) };
    },
  );

  app.delete(
    '/admin/tokens/:tokenId',
    { config: { access: 'admin' }, schema: routeSchema({ ...revokeSchema('token'), params: TokenIdParamsSchema }) },
    async (request, reply) => {
      const now = services.clock.now();
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, now, services.idempotencyKeyTtlMs);
      return replaying(reply, async () => {
        await services.store.revokeTokenById(request.params.tokenId, now, answering(claim, () => ({ status: 204, body: '' })));
        return reply.code(204).send();
      });
    },
  );
}
