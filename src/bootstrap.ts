import { createApiKey, createUser } from './admin/accounts.js';
import type { Clock } from './domain/clock.js';
import type { UserStore } from './domain/store.js';
import type { Tiers } from './domain/tiers.js';

/** The tier a bootstrap admin gets: the one with the most generous instance quota. */
function topTier(tiers: Tiers): string {
  return Object.values(tiers).sort((a, b) => b.maxInstances - a.maxInstances || b.requestsPerMinute - a.requestsPerMinute)[0]!.name;
}

export interface BootstrappedAdmin {
  id: string;
  email: string;
  tier: string;
  apiKey: string;
  apiSecret: string;
}

/**
 * On the first start with an empty store, makes one admin with an API key; undefined when the store has users. Made
 * before the server listens, so that no request can be answered before the credentials printed for it work.
 */
export async function bootstrapAdmin(store: UserStore & { countUsers(): Promise<number> }, clock: Clock, tiers: Tiers): Promise<BootstrappedAdmin | undefined> {
  if ((await store.countUsers()) > 0) return undefined;
  const user = await createUser(store, clock, tiers, { email: 'admin@gale.local', tier: topTier(tiers), admin: true });
  const { apiKey, apiSecret } = await createApiKey(store, clock, user.id);
  return { id: user.id, email: user.email, tier: user.tier, apiKey, apiSecret };
}

/**
 * The admin's key and secret, shown once, with a curl line that works as pasted. For the terminal, never the log:
 * logs are kept and shipped.
 */
export function bootstrapGreeting(admin: BootstrappedAdmin, baseUrl: string): string {
  return (
    [
      '',
      `Gale: first start, created admin user ${admin.email} (id ${admin.id}, tier ${admin.tier}, role compute_admin).`,
      `  api-key:    ${admin.apiKey}`,
      `  api-secret: ${admin.apiSecret}`,
      'The secret is shown only now; keep it. Try it:',
      `  curl -s ${baseUrl}/api/compute/v1/templates -H 'api-key: ${admin.apiKey}' -H 'api-secret: ${admin.apiSecret}'`,
      '',
    ].join('\n') + '\n'
  );
}
