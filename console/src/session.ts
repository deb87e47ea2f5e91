import { Gale, GaleApiError } from '@gale/client';

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
 * Checks the credentials against the server (GET /quotas) and learns whether they belong to a compute admin (an
 * admin list of one item succeeds): the console only shows the admin view to those it would work for.
 */
export async function signIn(credentials: Credentials): Promise<Session> {
  const gale = clientFor(credentials);
  const quotas = await gale.quotas();
  let isAdmin = false;
  try {
    await gale.admin.instances.list({ pageSize: 1 });
    isAdmin = true;
  } catch (error) {
    if (!(error instanceof GaleApiError && error.status === 403)) throw error;
  }
  sessionStorage.setItem(KEY, JSON.stringify(credentials));
  return { gale, credentials, isAdmin, tier: quotas.tier };
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}
