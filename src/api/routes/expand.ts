import { API_BASE } from '../../contracts/api.js';
import type { Access } from '../services.js';
import type { RouteDoc } from './route-schema.js';
import type { RouteDefinition } from './route.js';
import { operationIdOf, prefixOf, tagOf, type Scope } from './scope.js';

/*
 * The table's definitions as the routes they make: a twins definition makes two. What registration, the document
 * test, the isolation and fuzz suites read.
 */

export interface ExpandedRoute {
  definition: RouteDefinition;
  access: Access;
  method: RouteDoc['method'];
  /** As Fastify registers it, with the API base (none atRoot): /api/compute/v1/instances/:id. */
  fullPath: string;
  /** As the OpenAPI document names it: /api/compute/v1/instances/{id}. */
  documentedPath: string;
  /** What route-schema.ts documents. */
  doc: RouteDoc;
}

function expandOne(definition: RouteDefinition, scope: Access): ExpandedRoute {
  const { path, scope: _declared, atRoot, admin, idempotent, schemas: _schemas, handler: _handler, ...words } = definition;
  const twin = definition.scope === 'twins' ? (scope as Scope) : undefined;
  const url = twin ? `${prefixOf(twin)}${path}` : path;
  const fullPath = atRoot ? url : `${API_BASE}${url}`;
  const doc: RouteDoc = { ...words, access: scope, idempotent: idempotent !== undefined };
  if (twin) {
    doc.operationId = operationIdOf(twin, words.operationId);
    doc.tags = twin === 'admin' ? [tagOf(twin)] : words.tags;
    if (twin === 'admin' && admin) {
      if (admin.summary) doc.summary = admin.summary;
      if (admin.errors) doc.errors = { ...words.errors, ...admin.errors };
    }
  }
  return { definition, access: scope, method: definition.method, fullPath, documentedPath: fullPath.replace(/:(\w+)/g, '{$1}'), doc };
}

/**
 * The routes of the table in the order they are registered, which is the order of the OpenAPI document: each
 * definition in its place, except that a run of twins definitions gives all its owner's routes, then all its admin
 * twins (/instances/{id}... before /admin/instances/{id}..., as the document has always listed them).
 */
export function expandRoutes(table: readonly RouteDefinition[]): ExpandedRoute[] {
  const out: ExpandedRoute[] = [];
  let twins: RouteDefinition[] = [];
  const flush = () => {
    for (const scope of ['user', 'admin'] as const) for (const definition of twins) out.push(expandOne(definition, scope));
    twins = [];
  };
  for (const definition of table) {
    if (definition.scope === 'twins') {
      twins.push(definition);
      continue;
    }
    flush();
    out.push(expandOne(definition, definition.scope));
  }
  flush();
  return out;
}
