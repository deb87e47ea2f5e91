export { createReconciler } from './reconciler.js';
export type { Reconciler } from './reconciler.js';
export type { Outcome, ReconcilerOptions } from './options.js';
export type { ResyncReport } from './resync.js';
export { backoffDelay, type BackoffPolicy } from './backoff.js';
