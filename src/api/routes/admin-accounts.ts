import type { ApiServices, GaleApp } from '../services.js';
import { registerApiKeyRoutes, registerTokenRoutes } from './admin-accounts-credentials.js';
import { registerCreateUser, registerGetUser, registerListUsers, registerSetUserCustomer, registerSetUserTier } from './admin-accounts-users.js';

/**
 * Accounts for operators without a shell on the server host (docs/api.md, "Accounts (admins)"): the HTTP face of
 * src/admin/accounts.ts, which `gale admin` uses on the store directly. compute_admin only.
 */
export function registerAdminAccounts(app: GaleApp, services: ApiServices): void {
  registerCreateUser(app, services);
  registerListUsers(app, services);
  registerGetUser(app, services);
  registerSetUserTier(app, services);
  registerSetUserCustomer(app, services);
  registerApiKeyRoutes(app, services);
  registerTokenRoutes(app, services);
}
