import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { expandRoutes } from '../../src/api/routes/expand.js';
import { ROUTES } from '../../src/api/routes/index.js';
import { defineRoute } from '../../src/api/routes/route.js';
import { ROUTES as CLIENT_ROUTES } from '../../src/client/generated/routes.js';

/* The route table (src/api/routes/index.ts) as the routes it makes: names, twins, and the client's map of it. */

const words = (name: string) => ({ operationId: name, summary: name, description: name, method: 'GET' as const });
const twin = (name: string) =>
  defineRoute(
    {
      ...words(name),
      path: `/:id/${name}`,
      scope: 'twins',
      tags: ['instances'],
      success: { status: 200, description: name, schema: Type.String() },
      admin: { summary: `${name}, anyone's` },
    },
    () => () => name,
  );
const plain = defineRoute({ ...words('p'), path: '/plain', scope: 'user', tags: ['quotas'], success: { status: 200, description: 'p' } }, () => () => 'p');

test('a run of twins gives its owner routes, then its admin twins, each named, tagged and worded as an admin route', () => {
  const routes = expandRoutes([plain, twin('a'), twin('b'), plain]);
  assert.deepEqual(
    routes.map((r) => [r.access, r.fullPath, r.doc.operationId, r.doc.tags, r.doc.summary]),
    [
      ['user', '/api/compute/v1/plain', 'p', ['quotas'], 'p'],
      ['user', '/api/compute/v1/instances/:id/a', 'a', ['instances'], 'a'],
      ['user', '/api/compute/v1/instances/:id/b', 'b', ['instances'], 'b'],
      ['admin', '/api/compute/v1/admin/instances/:id/a', 'adminA', ['admin'], "a, anyone's"],
      ['admin', '/api/compute/v1/admin/instances/:id/b', 'adminB', ['admin'], "b, anyone's"],
      ['user', '/api/compute/v1/plain', 'p', ['quotas'], 'p'],
    ],
  );
  assert.equal(routes[1]!.documentedPath, '/api/compute/v1/instances/{id}/a');
});

test('every route of the table has an operationId of its own and one method and path', () => {
  const ids = ROUTES.map((route) => route.doc.operationId);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), []);
  const places = ROUTES.map((route) => `${route.method} ${route.fullPath}`);
  assert.deepEqual(places.filter((place, i) => places.indexOf(place) !== i), []);
});

test("the client's generated route map is the table: the same operations, methods, paths and idempotency", () => {
  const fromTable = Object.fromEntries(
    ROUTES.map((route) => [route.doc.operationId, { method: route.method, path: route.documentedPath, idempotent: route.doc.idempotent === true }]),
  );
  assert.deepEqual({ ...CLIENT_ROUTES }, fromTable);
});
