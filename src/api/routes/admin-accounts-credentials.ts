import { Type, type TObject } from '@sinclair/typebox';
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
import type { IdempotentWrite, StoredResponse } from '../../domain/idempotency.js';
import type { ApiKeyInfo, CreatedCursor, TokenInfo, UserStore } from '../../domain/store.js';
import { decodePageToken, encodePageToken } from '../page-tokens.js';
import { isCreatedCursor } from './admin-accounts-paging.js';
import { defineRoute, type NotReplayable, type RouteDefinition } from './route.js';

/*
 * Key pairs and session tokens of a user, for compute admins. The secret is in the creating answer and nowhere else:
 * not in the store, not in the log, and not in the answer kept for an Idempotency-Key. So a repeat of a creation with
 * the same key cannot be answered as the first was; it answers 409 naming the credential that was made (by id and
 * prefix), which the caller can revoke if the first answer was lost. Nothing is made twice either way.
 *
 * The two kinds have the same three routes (make, list, revoke); what differs between them is in KINDS.
 */

const DEFAULT_TOKEN_TTL = '24h';
const NOT_REPLAYABLE = 'the Idempotency-Key already made a credential, whose secret is not kept and cannot be sent again';

/** What differs between key pairs and session tokens; the routes below are the same for both. */
interface CredentialKind<Info extends CreatedCursor> {
  one: string;
  /** The path segment and the list's field: /admin/users/{userId}/keys, { keys: [...] }. */
  path: 'keys' | 'tokens';
  operationIds: { list: string; revoke: string };
  /** What the list says beyond revoked ones: tokens also expire. */
  listedToo: string;
  listed: { description: string; schema: string };
  /** The revoke route's path parameter, by name and schema. */
  idParam: 'keyId' | 'tokenId';
  idParams: TObject;
  view(info: Info): object;
  list(store: UserStore, userId: string, after: CreatedCursor | undefined, limit: number): Promise<Info[]>;
  revoke(store: UserStore, id: string, at: number, write: IdempotentWrite<Info> | undefined): Promise<Info>;
}

const KEY: CredentialKind<ApiKeyInfo> = {
  one: 'api key',
  path: 'keys',
  operationIds: { list: 'adminListApiKeys', revoke: 'adminRevokeApiKey' },
  listedToo: '',
  listed: { description: 'A page of key pairs', schema: 'ApiKeyList' },
  idParam: 'keyId',
  idParams: KeyIdParamsSchema,
  view: apiKeyView,
  list: (store, userId, after, limit) => store.listApiKeys(userId, after, limit),
  revoke: (store, id, at, write) => store.revokeApiKeyById(id, at, write),
};

const TOKEN: CredentialKind<TokenInfo> = {
  one: 'token',
  path: 'tokens',
  operationIds: { list: 'adminListTokens', revoke: 'adminRevokeToken' },
  listedToo: ' and expired',
  listed: { description: 'A page of session tokens', schema: 'SessionTokenList' },
  idParam: 'tokenId',
  idParams: TokenIdParamsSchema,
  view: tokenView,
  list: (store, userId, after, limit) => store.listTokens(userId, after, limit),
  revoke: (store, id, at, write) => store.revokeTokenById(id, at, write),
};

/**
 * A creation's idempotency: what is kept for its key is the credential as it is listed, never its secret; a repeat is
 * a 409 that says what was made and what to do, since the secret cannot be answered again.
 */
function notReplayable<Info extends CreatedCursor>(kind: CredentialKind<Info>): NotReplayable<Info> {
  return {
    receipt: (info) => ({ status: 201, body: JSON.stringify(kind.view(info)) }),
    refusal: (receipt: StoredResponse, key: string) => {
      const made = JSON.parse(receipt.body) as { id?: string; prefix?: string };
      return conflict(
        `Idempotency-Key "${key}" already made ${kind.one} ${made.id ?? ''}${made.prefix ? ` (prefix ${made.prefix})` : ''}; its secret was shown ` +
          `only in that answer and is not kept, so it cannot be sent again. If that answer was lost, revoke it (DELETE /admin/${kind.path}/${made.id ?? '{id}'}) ` +
          'and make another with a new Idempotency-Key',
      );
    },
  };
}

/** What the two creations share: path, access, idempotency and the statuses they add. */
function creation<Info extends CreatedCursor>(kind: CredentialKind<Info>) {
  return {
    path: `/admin/users/:userId/${kind.path}`,
    scope: 'admin' as const,
    tags: ['admin' as const],
    method: 'POST' as const,
    params: UserIdParamsSchema,
    errors: {
      404: 'No such user',
      409: `${NOT_REPLAYABLE}: the message names the ${kind.one} made (id and prefix), to be revoked if the first answer was lost`,
    },
    idempotent: notReplayable(kind),
  };
}

function listRoute<Info extends CreatedCursor>(kind: CredentialKind<Info>): RouteDefinition {
  return defineRoute(
    {
      path: `/admin/users/:userId/${kind.path}`,
      scope: 'admin',
      operationId: kind.operationIds.list,
      summary: `List a user's ${kind.path}`,
      description:
        `The user's ${kind.one}s, revoked${kind.listedToo} ones included, newest first, a page at a time: each with its id, ` +
        'its first 8 characters and its dates, never the secret or a hash of it.',
      tags: ['admin'],
      method: 'GET',
      params: UserIdParamsSchema,
      querystring: CredentialListQuerySchema,
      success: { status: 200, description: kind.listed.description, schema: Type.Ref(kind.listed.schema) },
      errors: { 400: 'A paging value out of range, a pageToken this server did not give (or gave for another user), or an unknown query parameter', 404: 'No such user' },
    },
    ({ services }) =>
      async (request) => {
        const { userId } = request.params;
        await requireUser(services.store, userId);
        const pageSize = Math.min(request.query.pageSize ?? ACCOUNT_LIST_DEFAULT_PAGE_SIZE, ACCOUNT_LIST_MAX_PAGE_SIZE);
        const after = request.query.pageToken ? decodePageToken(request.query.pageToken, { userId }, isCreatedCursor) : undefined;
        // One more than the page: whether there is a next page is known without a count.
        const found = await kind.list(services.store, userId, after, pageSize + 1);
        const page = found.slice(0, pageSize);
        const last = page.at(-1);
        const nextPageToken = found.length > pageSize && last ? encodePageToken({ createdAt: last.createdAt, id: last.id }, { userId }) : undefined;
        return { [kind.path]: page.map(kind.view), ...(nextPageToken ? { nextPageToken } : {}) };
      },
  );
}

function revokeRoute<Info extends CreatedCursor>(kind: CredentialKind<Info>): RouteDefinition {
  return defineRoute(
    {
      path: `/admin/${kind.path}/:${kind.idParam}`,
      scope: 'admin',
      operationId: kind.operationIds.revoke,
      summary: `Revoke a ${kind.one}`,
      description:
        `Every server refuses the ${kind.one} within credentialCacheMs (5 s by default). Revoking a revoked ${kind.one} changes nothing and answers 204 too ` +
        '(the first revocation time is kept).',
      tags: ['admin'],
      method: 'DELETE',
      params: kind.idParams,
      success: { status: 204, description: 'Revoked' },
      errors: { 404: `No such ${kind.one}` },
      idempotent: { answer: (_revoked: Info): StoredResponse => ({ status: 204, body: '' }) },
    },
    ({ services }) =>
      async (request, _reply, write) =>
        kind.revoke(services.store, (request.params as Record<string, string>)[kind.idParam]!, services.clock.now(), write),
  );
}

export const adminCreateApiKey = defineRoute(
  {
    ...creation(KEY),
    operationId: 'adminCreateApiKey',
    summary: 'Make a key pair for a user',
    description:
      'A new api-key and api-secret for the user, who can authenticate with them at once. The secret is in this answer only: it is ' +
      'stored as a hash and never shown again. A repeat with the same Idempotency-Key answers 409 (nothing is made twice).',
    success: { status: 201, description: 'Made: the key pair, with its secret (shown only now)', schema: Type.Ref('CreatedApiKey') },
  },
  ({ services }) =>
    async (request, reply, write) => {
      const pair = await createApiKey(services.store, services.clock, request.params.userId, write);
      return reply.code(201).send(createdApiKeyView(pair));
    },
);

export const adminCreateToken = defineRoute(
  {
    ...creation(TOKEN),
    operationId: 'adminCreateToken',
    summary: 'Make a session token for a user',
    description:
      `A new bearer token for the user, living ttl (default ${DEFAULT_TOKEN_TTL}; send {} for it). The token is in this answer only: it is ` +
      'stored as a hash and never shown again. A repeat with the same Idempotency-Key answers 409 (nothing is made twice).',
    body: Type.Unsafe<CreateTokenBody>(Type.Ref(CreateTokenBodySchema.$id!)),
    success: { status: 201, description: 'Made: the token (shown only now)', schema: Type.Ref('CreatedSessionToken') },
    errors: { ...creation(TOKEN).errors, 400: 'Bad JSON, no body, an unknown field, or a ttl that is not a duration of 1 s to 3650 d' },
  },
  ({ services }) =>
    async (request, reply, write) => {
      const ttlMs = parseDuration(request.body.ttl ?? DEFAULT_TOKEN_TTL);
      const made = await createToken(services.store, services.clock, request.params.userId, ttlMs, write);
      return reply.code(201).send(createdTokenView(made));
    },
);

/** The routes of each kind, in the order they are documented: make, list, revoke; key pairs first. */
export const credentialRoutes: RouteDefinition[] = [adminCreateApiKey, listRoute(KEY), revokeRoute(KEY), adminCreateToken, listRoute(TOKEN), revokeRoute(TOKEN)];
