/** Where the Compute Instance API lives on a Gale server; the operability routes (/healthz, /readyz, /metrics) are at the root. */
export const API_BASE = '/api/compute/v1';

/** Where an operation can be looked up: the Location of every answer that accepted one. */
export function operationPath(operationId: string): string {
  return `${API_BASE}/operations/${operationId}`;
}
