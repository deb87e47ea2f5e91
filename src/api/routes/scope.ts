import { invalidRequest } from '../../domain/errors.js';
import { principalOf, type Access } from '../services.js';

/** Instance routes come twice: the owner's under /instances, and compute admins' over anyone's under /admin/instances. */
export type Scope = 'user' | 'admin';

export const prefixOf = (scope: Access): string => (scope === 'admin' ? '/admin/instances' : '/instances');
export const tagOf = (scope: Scope): 'admin' | 'instances' => (scope === 'admin' ? 'admin' : 'instances');

/** getInstance -> adminGetInstance. */
export const operationIdOf = (scope: Scope, name: string): string => (scope === 'admin' ? `admin${name[0]!.toUpperCase()}${name.slice(1)}` : name);

/** A twin's 404: to its owner, a foreign instance answers exactly like a missing one. */
export const NOT_FOUND = {
  user: 'No such instance, or it belongs to another user (the two answers are the same)',
  admin: 'No such instance',
} as const;

/** The owner a lookup is restricted to: the caller on user routes, nobody on admin routes. */
export function ownerFor(scope: Access, request: { principal: Parameters<typeof principalOf>[0]['principal'] }): string | undefined {
  return scope === 'admin' ? undefined : principalOf(request).user.id;
}

export function requireId(id: string): string {
  if (id.trim() === '') throw invalidRequest('instance id is empty');
  return id;
}
