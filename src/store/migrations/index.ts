import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './001_initial.js';
import { idempotencyKeys } from './002_idempotency_keys.js';
import { byteOrderIds } from './003_byte_order_ids.js';
import { customers } from './004_customers.js';
import { operationProgress } from './005_operation_progress.js';
import { events } from './006_events.js';
import { credentialListing } from './007_credential_listing.js';
import { vmAddresses } from './008_vm_addresses.js';
import { instanceSpec } from './009_instance_spec.js';
import { providerState } from './010_provider_state.js';
import { rateLimits } from './011_rate_limits.js';
import { replicas } from './012_replicas.js';

/*
 * Listed in code rather than read from the folder, so that the compiled build and tsx see the same list
 * and no file-system scan happens at start. Names sort in the order they must run.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001_initial': initial,
  '002_idempotency_keys': idempotencyKeys,
  '003_byte_order_ids': byteOrderIds,
  '004_customers': customers,
  '005_operation_progress': operationProgress,
  '006_events': events,
  '007_credential_listing': credentialListing,
  '008_vm_addresses': vmAddresses,
  '009_instance_spec': instanceSpec,
  '010_provider_state': providerState,
  '011_rate_limits': rateLimits,
  '012_replicas': replicas,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
