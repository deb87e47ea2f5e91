import type { components, Gale } from '@gale/client';
import { useEffect, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { activeFilters, FilterForm } from './filter-form.js';

type UserList = components['schemas']['UserList'];

type Filters = {
  email: string;
  tier: string;
  customerID: string;
};
const EMPTY: Filters = { email: '', tier: '', customerID: '' };
const LABELS: Record<keyof Filters, string> = { email: 'Email', tier: 'Tier', customerID: 'Customer id' };
const PAGE_SIZE = 20;

/**
 * Users, for compute admins: filtered as the admin users route takes them, a page of 20 at a time. The route pages by
 * token, so the tokens of the pages already seen are kept to go back.
 */
export function UsersPage({ gale }: { gale: Gale }) {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [tokens, setTokens] = useState<string[]>([]);
  const [result, setResult] = useState<UserList | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    const query = activeFilters(filters);
    setError(undefined);
    gale.admin.users.list({ ...query, pageSize: PAGE_SIZE, pageToken: tokens.at(-1) }).then(setResult, (e) => setError(describe(e)));
  }, [gale, filters, tokens]);

  return (
    <section aria-labelledby="users-title">
      <div class="title-row">
        <h1 id="users-title">Users</h1>
        <button type="button" class="primary" aria-expanded={creating} onClick={() => setCreating(!creating)}>
          Create user
        </button>
      </div>
      {creating && <CreateUser gale={gale} onCancel={() => setCreating(false)} />}
      <FilterForm
        labels={LABELS}
        empty={EMPTY}
        onApply={(applied) => {
          setTokens([]);
          setFilters(applied);
        }}
      />
      <ErrorBox error={error} />
      {result && (
        <>
          <p role="status">
            {result.users.length} user(s) on page {tokens.length + 1}
            {result.nextPageToken ? ', more on the next' : ''}
          </p>
          <div class="table-wrap">
            <table aria-labelledby="users-title">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Tier</th>
                  <th scope="col">Customer</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {result.users.map((u) => (
                  <tr key={u.id} data-user={u.id}>
                    <td>
                      <a href={`#/users/${encodeURIComponent(u.id)}`}>{u.email}</a>
                    </td>
                    <td>{u.tier}</td>
                    <td>{u.customerId || '—'}</td>
                    <td>{u.roles.join(', ') || '—'}</td>
                    <td>
                      <time dateTime={u.createdAt}>{u.createdAt}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="row" aria-label="Pages">
            <button type="button" disabled={tokens.length === 0} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <button type="button" disabled={!result.nextPageToken} onClick={() => result.nextPageToken && setTokens([...tokens, result.nextPageToken])}>
              Next page
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

/** Makes a user (email, and optionally tier, customer and the admin role), then opens their page. */
function CreateUser({ gale, onCancel }: { gale: Gale; onCancel: () => void }) {
  const [email, setEmail] = useState('');
  const [tier, setTier] = useState('');
  const [customerId, setCustomerId] = useState('');
  const [admin, setAdmin] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(undefined);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const user = await gale.admin.users.create({
        email: email.trim(),
        ...(tier.trim() ? { tier: tier.trim() } : {}),
        ...(customerId.trim() ? { customerId: customerId.trim() } : {}),
        admin,
      });
      window.location.hash = `#/users/${encodeURIComponent(user.id)}`;
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  };

  return (
    <form class="panel" aria-labelledby="create-user-title" onSubmit={submit}>
      <h2 id="create-user-title">New user</h2>
      <label>
        Email address
        <input name="email" type="email" required autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <label>
        Tier (empty for the server's default)
        <input name="tier" value={tier} onInput={(e) => setTier(e.currentTarget.value)} />
      </label>
      <label>
        Customer id (optional)
        <input name="customerId" value={customerId} onInput={(e) => setCustomerId(e.currentTarget.value)} />
      </label>
      <label class="inline">
        <input type="checkbox" name="admin" checked={admin} onChange={(e) => setAdmin(e.currentTarget.checked)} /> Compute admin
      </label>
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorBox error={error} />
    </form>
  );
}
