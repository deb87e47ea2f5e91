import { createApiKey, createUser } from './admin/accounts.js';
import type { Clock } from './domain/clock.js';
import type { UserStore } from './domain/store.js';
import type { Tiers } from './domain/tiers.js';

/** The tier a bootstrap admin gets: the one with the most generous instance quota. */
function topTier(tiers: Tiers): string {
  return Object.values(tiers).sort((a, b) => b.maxInstances - a.maxInstances || b.requestsPerMinute - a.requestsPerMinute)[0]!.name;
}

/**
 * On the first start with an empty store, makes one admin and prints its key and secret once, with a
 * curl line that works as pasted. Printed to the terminal, never to the log: logs are kept and shipped.
 */
export async function bootstrapAdmin(
  store: UserStore & { countUsers(): Promise<number> },
  clock: Clock,
  tiers: Tiers,
  baseUrl: string,
  print: (text: string) => void,
): Promise<boolean> {
  if ((await store.countUsers()) > 0) return false;
  const user = await createUser(store, clock, tiers, { email: 'admin@gale.local', tier: topTier(tiers), admin: true });
  const { apiKey, apiSecret } = await createApiKey(store, clock, user.id);
  print(
    [
      '',
      `Gale: first start, created admin user ${user.email} (id ${user.id}, tier ${user.tier}, role compute_admin).`,
      `  api-key:    ${apiKey}`,
      `  api-secret: ${apiSecret}`,
      'The secret is shown only now; keep it. Try it:',
      `  curl -s ${baseUrl}/api/compute/v1/templates -H 'api-key: ${apiKey}' -H 'api-secret: ${apiSecret}'`,
      '',
    ].join('\n') + '\n',
  );
  return true;
}
