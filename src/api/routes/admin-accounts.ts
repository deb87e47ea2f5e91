import { credentialRoutes } from './admin-accounts-credentials.js';
import { adminCreateUser, adminGetUser, adminListUsers, adminSetUserCustomer, adminSetUserTier } from './admin-accounts-users.js';
import type { RouteDefinition } from './route.js';

/**
 * Accounts for operators without a shell on the server host (docs/api.md, "Accounts (admins)"): the HTTP face of
 * src/admin/accounts.ts, which `gale admin` uses on the store directly. compute_admin only.
 */
export const adminAccountRoutes: RouteDefinition[] = [adminCreateUser, adminListUsers, adminGetUser, adminSetUserTier, adminSetUserCustomer, ...credentialRoutes];
