/**
 * The name this replica's leases carry, held exclusively for as long as the process lives (store/replica-identity.ts),
 * so that a process started again under it knows the leases it finds under that name are a dead predecessor's, and
 * takes them over at once instead of waiting them out.
 */
export interface ReplicaIdentity {
  readonly id: string;
  /** False while the guard is lost (a PostgreSQL session ended) and not yet taken again: no work may be done under the id. */
  readonly held: boolean;
  /** Told when the guard is lost and when it is held again; returns the unsubscribe. */
  onChange(listener: (held: boolean) => void): () => void;
  /** Gives the id up: another process may take it from now on. */
  close(): Promise<void>;
}

/** A requested id that another live process holds: the start is refused. */
export class ReplicaIdTakenError extends Error {
  override name = 'ReplicaIdTakenError';
}

/** Ids made up when none is configured: the first free of `<base>-1`, `<base>-2`, ... (one per live process). */
export function candidateIds(base: string, count = 64): string[] {
  return Array.from({ length: count }, (_, i) => `${base}-${i + 1}`);
}
