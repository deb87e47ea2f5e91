import { useEffect, useState } from 'preact/hooks';
import { AdminPage } from './admin.js';
import { describe, type ShownError } from './errors.js';
import { InstanceDetails } from './instance-details.js';
import { InstancesPage } from './instances.js';
import { QuotasPage } from './quotas.js';
import { signIn, signOut, storedCredentials, type Session } from './session.js';
import { SignIn } from './sign-in.js';
import { UserDetails } from './user-details.js';
import { UsersPage } from './users.js';

/** Hash routes (#/instances, #/instances/<id>, #/quotas, #/admin, #/users, #/users/<id>): they carry ids, never credentials. */
function useRoute(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash.replace(/^#/, '') || '/instances';
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [restoring, setRestoring] = useState(() => storedCredentials() !== undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const route = useRoute();

  useEffect(() => {
    const stored = storedCredentials();
    if (!stored) return;
    signIn(stored)
      .then(setSession, (e) => {
        signOut();
        setError(describe(e));
      })
      .finally(() => setRestoring(false));
  }, []);

  useEffect(() => {
    const main = document.getElementById('main');
    main?.focus();
  }, [route, session !== undefined]);

  if (restoring) return <p class="loading">Signing in…</p>;
  if (!session) {
    return (
      <SignIn
        initialError={error}
        onSignedIn={(s) => {
          setError(undefined);
          setSession(s);
        }}
      />
    );
  }

  const leave = () => {
    signOut();
    setSession(undefined);
    window.location.hash = '';
  };

  let page;
  const detail = /^\/instances\/([^/]+)$/.exec(route);
  const user = /^\/users\/([^/]+)$/.exec(route);
  if (detail) page = <InstanceDetails gale={session.gale} id={decodeURIComponent(detail[1] as string)} />;
  else if (route === '/quotas') page = <QuotasPage gale={session.gale} />;
  else if (route === '/admin' && session.isAdmin) page = <AdminPage gale={session.gale} />;
  else if (route === '/users' && session.isAdmin) page = <UsersPage gale={session.gale} />;
  else if (user && session.isAdmin) page = <UserDetails gale={session.gale} id={decodeURIComponent(user[1] as string)} />;
  else page = <InstancesPage gale={session.gale} />;

  const current = (path: string) => (route === path || (path === '/instances' && !!detail) || (path === '/users' && !!user) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Gale</span>
        <nav aria-label="Main">
          <a href="#/instances" aria-current={current('/instances')}>Instances</a>
          <a href="#/quotas" aria-current={current('/quotas')}>Quotas</a>
          {session.isAdmin && (
            <a href="#/admin" aria-current={current('/admin')}>
              All instances
            </a>
          )}
          {session.isAdmin && (
            <a href="#/users" aria-current={current('/users')}>
              Users
            </a>
          )}
        </nav>
        <span class="who">tier {session.tier}{session.isAdmin ? ' · compute admin' : ''}</span>
        <button type="button" onClick={leave}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
