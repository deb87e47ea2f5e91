export { createReconciler } from './reconciler.js';
export type { Reconciler } from './reconciler.js';
export type { BackoffPolicy, ReconcilerOptions } from './options.js';
export type { ResyncReport } from './resync.js';
export type { Outcome } from './reconcile-instance.js';
export { backoffDelay } from './backoff.js';
