import { Gale } from '@gale/client';

/*
 * Credentials live in sessionStorage only: they die with the tab, are never written to localStorage, and never put in
 * a URL. Signing out removes them.
 */

export type Credentials = { kind: 'token'; token: string } | { kind: 'key'; apiKey: string; apiSecret: string };

export interface Session {
  gale: Gale;
  credentials: Credentials;
  isAdmin: boolean;
  tier: string;
}

const KEY = 'gale.console.credentials';
/** The role that may call the admin routes. */
const ADMIN_ROLE = 'compute_admin';

export function storedCredentials(): Credentials | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Credentials;
  } catch {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
}

export function clientFor(credentials: Credentials): Gale {
  const baseUrl = window.location.origin;
  return credentials.kind === 'token'
    ? new Gale({ baseUrl, token: credentials.token })
    : new Gale({ baseUrl, apiKey: credentials.apiKey, apiSecret: credentials.apiSecret });
}

/**
 * Checks the credentials against the server (GET /me) and learns from the caller's roles whether they belong to a
 * compute admin: the console only shows the admin view to those it would work for.
 */
export async function signIn(credentials: Credentials): Promise<Session> {
  const gale = clientFor(credentials);
  const me = await gale.me();
  sessionStorage.setItem(KEY, JSON.stringify(credentials));
  return { gale, credentials, isAdmin: me.roles.includes(ADMIN_ROLE), tier: me.tier };
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}
