import { Type, type Static } from '@sinclair/typebox';

/*
 * Wire schemas of the account routes (compute_admin only): users, their key pairs and their session tokens. A secret
 * (api-secret, token) appears in one answer only, the one that created it; lists and every other answer carry the
 * credential's id, its first characters and its dates, never the secret or a hash of it.
 */

const USER_EXAMPLE = {
  id: '550e8400-e29b-41d4-a716-446655440000',
  email: 'dev@example.com',
  tier: 'pro',
  roles: [],
  customerId: '',
  createdAt: '2024-01-01T00:00:00Z',
};
const KEY_EXAMPLE = {
  id: '0b8f6c2e-2f7a-4c1e-9d3b-5a6e7f8091a2',
  userId: USER_EXAMPLE.id,
  prefix: '7kqT2mZa',
  createdAt: '2024-01-01T00:00:00Z',
};
const TOKEN_EXAMPLE = { ...KEY_EXAMPLE, id: '6f1e2d3c-4b5a-4697-8e7f-0a1b2c3d4e5f', prefix: 'Qw3rTy7u', expiresAt: '2024-01-02T00:00:00Z' };

export const ACCOUNT_LIST_DEFAULT_PAGE_SIZE = 50;
export const ACCOUNT_LIST_MAX_PAGE_SIZE = 500;

const timestamp = (description: string) => Type.String({ format: 'date-time', description: `${description}, RFC 3339 UTC`, examples: ['2024-01-01T00:00:00Z'] });
const customerId = Type.String({
  maxLength: 64,
  description: "The customer (organisation) id, from the operator's own systems: 1-64 letters, digits and . _ : -, starting with a letter or digit; empty for none",
  examples: ['acme'],
});

export const AccountUserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'User identifier: the userId of their instances and operations' }),
    email: Type.String({ description: 'Email address, unique among users' }),
    tier: Type.String({ description: 'Subscription tier: decides rate limit and quotas', examples: ['pro'] }),
    roles: Type.Array(Type.String(), { description: 'Roles; compute_admin may call the admin routes' }),
    customerId: Type.String({ description: 'The customer (organisation) the user belongs to; empty for none' }),
    createdAt: timestamp('When the user was made'),
  },
  { $id: 'AccountUser', additionalProperties: false, description: 'A user', examples: [USER_EXAMPLE] },
);
export type AccountUserView = Static<typeof AccountUserSchema>;

export const CreateUserBodySchema = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 254, description: 'Email address, unique among users', examples: ['dev@example.com'] }),
    tier: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Subscription tier (default: the server's defaultTier)", examples: ['pro'] })),
    admin: Type.Optional(Type.Boolean({ description: 'Grant the compute_admin role (default false)' })),
    customerId: Type.Optional(customerId),
  },
  { $id: 'CreateUserRequest', additionalProperties: false, description: 'The user to make; an unknown field is refused', examples: [{ email: 'dev@example.com', tier: 'pro' }] },
);
export type CreateUserBody = Static<typeof CreateUserBodySchema>;

export const SetTierBodySchema = Type.Object(
  { tier: Type.String({ minLength: 1, maxLength: 64, description: 'The new tier; it takes effect within credentialCacheMs', examples: ['enterprise'] }) },
  { $id: 'SetTierRequest', additionalProperties: false, description: "A user's new tier", examples: [{ tier: 'enterprise' }] },
);
export type SetTierBody = Static<typeof SetTierBodySchema>;

export const SetCustomerBodySchema = Type.Object(
  { customerId },
  { $id: 'SetCustomerRequest', additionalProperties: false, description: "A user's new customer; their live instances move with them", examples: [{ customerId: 'acme' }] },
);
export type SetCustomerBody = Static<typeof SetCustomerBodySchema>;

const keyFields = {
  id: Type.String({ format: 'uuid', description: 'Identifier of the key pair: what revokes it' }),
  userId: Type.String({ format: 'uuid', description: 'Whose it is' }),
  prefix: Type.String({ description: 'The first 8 characters of the api-key, to recognise it by; empty for keys made before Gale kept them' }),
  createdAt: timestamp('When it was made'),
  revokedAt: Type.Optional(timestamp('When it was revoked; absent while it is good')),
};

export const ApiKeySchema = Type.Object(keyFields, {
  $id: 'ApiKey',
  additionalProperties: false,
  description: 'A key pair as it is listed: never the api-key, the api-secret or a hash of either',
  examples: [KEY_EXAMPLE],
});
export type ApiKeyView = Static<typeof ApiKeySchema>;

export const CreatedApiKeySchema = Type.Object(
  {
    ...keyFields,
    apiKey: Type.String({ description: 'The api-key header value' }),
    apiSecret: Type.String({ description: 'The api-secret header value: shown in this answer only, never again' }),
  },
  {
    $id: 'CreatedApiKey',
    additionalProperties: false,
    description: 'A new key pair, with its secret: the only answer that ever carries it',
    examples: [{ ...KEY_EXAMPLE, apiKey: '7kqT2mZa…', apiSecret: 'Xb2…' }],
  },
);
export type CreatedApiKeyView = Static<typeof CreatedApiKeySchema>;

const tokenFields = {
  ...keyFields,
  id: Type.String({ format: 'uuid', description: 'Identifier of the token: what revokes it' }),
  prefix: Type.String({ description: 'The first 8 characters of the token, to recognise it by; empty for tokens made before Gale kept them' }),
  expiresAt: timestamp('When it stops working'),
};

export const TokenSchema = Type.Object(tokenFields, {
  $id: 'SessionToken',
  additionalProperties: false,
  description: 'A session token as it is listed: never the token or a hash of it',
  examples: [TOKEN_EXAMPLE],
});
export type TokenView = Static<typeof TokenSchema>;

export const CreatedTokenSchema = Type.Object(
  { ...tokenFields, token: Type.String({ description: 'The bearer token: shown in this answer only, never again' }) },
  {
    $id: 'CreatedSessionToken',
    additionalProperties: false,
    description: 'A new session token: the only answer that ever carries it',
    examples: [{ ...TOKEN_EXAMPLE, token: 'Qw3rTy7u…' }],
  },
);
export type CreatedTokenView = Static<typeof CreatedTokenSchema>;

export const CreateTokenBodySchema = Type.Object(
  {
    ttl: Type.Optional(
      Type.String({
        maxLength: 32,
        pattern: '^[0-9]+ *[smhd]?$',
        description: 'Lifetime: seconds, or a number with s, m, h or d (90s, 30m, 24h, 7d); at most 3650d. Default 24h',
        examples: ['24h'],
      }),
    ),
  },
  { $id: 'CreateTokenRequest', additionalProperties: false, description: 'The lifetime of the new token; an empty object or no body takes the default', examples: [{ ttl: '24h' }] },
);
export type CreateTokenBody = Static<typeof CreateTokenBodySchema>;

const pageSize = (what: string) =>
  Type.Integer({
    minimum: 1,
    maximum: 999_999_999,
    description: `${what} a page (default ${ACCOUNT_LIST_DEFAULT_PAGE_SIZE}); values over ${ACCOUNT_LIST_MAX_PAGE_SIZE} are clamped to it`,
  });
const pageToken = Type.String({ maxLength: 512, description: 'The nextPageToken of the previous page (with the same filters)' });
const nextPageToken = Type.Optional(Type.String({ description: 'Send it as pageToken for the next page; absent on the last page' }));

export const UserListQuerySchema = Type.Object(
  {
    tier: Type.Optional(Type.String({ maxLength: 64, description: 'Only users on this tier', examples: ['pro'] })),
    customerID: Type.Optional(Type.String({ maxLength: 64, description: 'Only users of this customer (organisation)', examples: ['acme'] })),
    email: Type.Optional(Type.String({ maxLength: 254, description: 'Only the user with this email', examples: ['dev@example.com'] })),
    pageSize: Type.Optional(pageSize('Users')),
    pageToken: Type.Optional(pageToken),
  },
  // An unknown parameter is refused: a filter this server does not know must never widen a result.
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuerySchema>;

export const CredentialListQuerySchema = Type.Object(
  { pageSize: Type.Optional(pageSize('Credentials')), pageToken: Type.Optional(pageToken) },
  { additionalProperties: false },
);
export type CredentialListQuery = Static<typeof CredentialListQuerySchema>;

export const UserListSchema = Type.Object(
  { users: Type.Array(Type.Ref('AccountUser'), { description: 'This page of them, newest first' }), nextPageToken },
  { $id: 'UserList', additionalProperties: false, description: 'A page of users', examples: [{ users: [USER_EXAMPLE] }] },
);
export const ApiKeyListSchema = Type.Object(
  { keys: Type.Array(Type.Ref('ApiKey'), { description: "This page of the user's key pairs, revoked ones included, newest first" }), nextPageToken },
  { $id: 'ApiKeyList', additionalProperties: false, description: "A page of a user's key pairs", examples: [{ keys: [KEY_EXAMPLE] }] },
);
export const TokenListSchema = Type.Object(
  { tokens: Type.Array(Type.Ref('SessionToken'), { description: "This page of the user's tokens, expired and revoked ones included, newest first" }), nextPageToken },
  { $id: 'SessionTokenList', additionalProperties: false, description: "A page of a user's session tokens", examples: [{ tokens: [TOKEN_EXAMPLE] }] },
);

const id = (what: string) => Type.String({ maxLength: 64, description: `${what} identifier`, examples: [USER_EXAMPLE.id] });
export const UserIdParamsSchema = Type.Object({ userId: id('User') });
export const KeyIdParamsSchema = Type.Object({ keyId: id('Key pair') });
export const TokenIdParamsSchema = Type.Object({ tokenId: id('Session token') });

/** The schemas the routes refer to by $id: registered once with the app (app.ts). */
export const ACCOUNT_SCHEMAS = [
  AccountUserSchema,
  CreateUserBodySchema,
  SetTierBodySchema,
  SetCustomerBodySchema,
  ApiKeySchema,
  CreatedApiKeySchema,
  TokenSchema,
  CreatedTokenSchema,
  CreateTokenBodySchema,
  UserListSchema,
  ApiKeyListSchema,
  TokenListSchema,
];
