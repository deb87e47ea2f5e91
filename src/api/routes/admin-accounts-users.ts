import { Type, type TSchema } from '@sinclair/typebox';
import { createUser, requireUser, setUserCustomer, setUserTier } from '../../admin/accounts.js';
import { userView } from '../../admin/views.js';
import {
  ACCOUNT_LIST_DEFAULT_PAGE_SIZE,
  ACCOUNT_LIST_MAX_PAGE_SIZE,
  SetCustomerBodySchema,
  SetTierBodySchema,
  CreateUserBodySchema,
  UserIdParamsSchema,
  UserListQuerySchema,
  type CreateUserBody,
  type SetCustomerBody,
  type SetTierBody,
} from '../../contracts/account.js';
import type { StoredResponse } from '../../domain/idempotency.js';
import type { User, UserFilter } from '../../domain/store.js';
import { decodePageToken, encodePageToken } from '../page-tokens.js';
import { isCreatedCursor } from './admin-accounts-paging.js';
import { defineRoute } from './route.js';

/* Users, for compute admins: make one, list them, read one, change a user's tier or customer. */

const userAnswer =
  (status: 200 | 201) =>
  (user: User): StoredResponse => ({ status, body: JSON.stringify(userView(user)) });

export const adminCreateUser = defineRoute(
  {
    path: '/admin/users',
    scope: 'admin',
    operationId: 'adminCreateUser',
    summary: 'Make a user',
    description:
      "A user with an email (unique), a tier (the server's defaultTier when absent), optionally the compute_admin role and a customer. " +
      'The user has no credentials yet: make them a key pair or a token next.',
    tags: ['admin'],
    method: 'POST',
    body: Type.Unsafe<CreateUserBody>(Type.Ref(CreateUserBodySchema.$id!)),
    success: { status: 201, description: 'Made: the user', schema: Type.Ref('AccountUser') },
    errors: { 400: 'Bad JSON, an unknown field, not an email address, an unknown tier or a malformed customer id', 409: 'a user with that email exists' },
    idempotent: { answer: userAnswer(201) },
  },
  ({ services }) =>
    async (request, _reply, write) => {
      const { email, tier, admin, customerId } = request.body;
      return createUser(services.store, services.clock, services.tiers, { email, tier: tier ?? services.defaultTier, admin: admin ?? false, customerId }, write);
    },
);

export const adminListUsers = defineRoute(
  {
    path: '/admin/users',
    scope: 'admin',
    operationId: 'adminListUsers',
    summary: 'List users, a page at a time',
    description:
      'Newest first, filtered by any of tier, customerID and email (an empty value is no filter); the next page is asked for with ' +
      'the nextPageToken of the last. A parameter this route does not know is refused with 400.',
    tags: ['admin'],
    method: 'GET',
    querystring: UserListQuerySchema,
    success: { status: 200, description: 'A page of users', schema: Type.Ref('UserList') },
    errors: { 400: 'A paging value out of range, a pageToken this server did not give (or gave for other filters), or an unknown query parameter' },
  },
  ({ services }) =>
    async (request) => {
      const { tier, customerID, email, pageToken } = request.query;
      const filter: UserFilter = {};
      if (tier) filter.tier = tier;
      if (customerID) filter.customerId = customerID;
      if (email) filter.email = email;
      const pageSize = Math.min(request.query.pageSize ?? ACCOUNT_LIST_DEFAULT_PAGE_SIZE, ACCOUNT_LIST_MAX_PAGE_SIZE);
      const after = pageToken ? decodePageToken(pageToken, filter, isCreatedCursor) : undefined;
      // One more than the page: whether there is a next page is known without a count.
      const found = await services.store.listUsers(filter, after, pageSize + 1);
      const page = found.slice(0, pageSize);
      const last = page.at(-1);
      const answer: { users: ReturnType<typeof userView>[]; nextPageToken?: string } = { users: page.map(userView) };
      if (found.length > pageSize && last) answer.nextPageToken = encodePageToken({ createdAt: last.createdAt, id: last.id }, filter);
      return answer;
    },
);

export const adminGetUser = defineRoute(
  {
    path: '/admin/users/:userId',
    scope: 'admin',
    operationId: 'adminGetUser',
    summary: 'Get a user',
    description: 'The user with their tier, roles and customer. Their credentials are listed by the keys and tokens routes.',
    tags: ['admin'],
    method: 'GET',
    params: UserIdParamsSchema,
    success: { status: 200, description: 'The user', schema: Type.Ref('AccountUser') },
    errors: { 404: 'No such user' },
  },
  ({ services }) =>
    async (request) => userView(await requireUser(services.store, request.params.userId)),
);

/** What the two user changes share: the path, access, idempotency and answer; each names its body and what it does. */
function changeUser<B extends TSchema>(action: string, operationId: string, summary: string, description: string, body: B, bad: string) {
  return {
    path: `/admin/users/:userId/${action}`,
    scope: 'admin' as const,
    operationId,
    summary,
    description,
    tags: ['admin' as const],
    method: 'POST' as const,
    params: UserIdParamsSchema,
    body,
    success: { status: 200 as const, description: 'The user as changed', schema: Type.Ref('AccountUser') },
    errors: { 400: bad, 404: 'No such user' },
    idempotent: { answer: userAnswer(200) },
  };
}

export const adminSetUserTier = defineRoute(
  changeUser(
    'setTier',
    'adminSetUserTier',
    "Change a user's tier",
    'The new tier decides the rate limit and quotas of every request the user makes from then on, on every server within ' +
      'credentialCacheMs (5 s by default). Instances over a lower quota are kept; new ones are refused until the user is under it.',
    Type.Unsafe<SetTierBody>(Type.Ref(SetTierBodySchema.$id!)),
    'Bad JSON, an unknown field, or an unknown tier',
  ),
  ({ services }) =>
    async (request, _reply, write) =>
      setUserTier(services.store, services.tiers, request.params.userId, request.body.tier, write),
);

export const adminSetUserCustomer = defineRoute(
  changeUser(
    'setCustomer',
    'adminSetUserCustomer',
    "Change a user's customer",
    'Moves the user, and their live instances with them, to a customer (organisation); an empty customerId takes them out of any.',
    Type.Unsafe<SetCustomerBody>(Type.Ref(SetCustomerBodySchema.$id!)),
    'Bad JSON, an unknown field, or a malformed customer id',
  ),
  ({ services }) =>
    async (request, _reply, write) =>
      setUserCustomer(services.store, request.params.userId, request.body.customerId, write),
);
