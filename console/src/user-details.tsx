import type { components, Gale } from '@gale/client';
import { useEffect, useState } from 'preact/hooks';
import { UserCredentials } from './credentials.js';
import { describe, ErrorBox, type ShownError } from './errors.js';

type User = components['schemas']['AccountUser'];

/** One user, for compute admins: their facts, their tier and customer (changeable), and their credentials. */
export function UserDetails({ gale, id }: { gale: Gale; id: string }) {
  const [user, setUser] = useState<User | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);

  useEffect(() => {
    setUser(undefined);
    setError(undefined);
    gale.admin.users.get(id).then(setUser, (e) => setError(describe(e)));
  }, [gale, id]);

  return (
    <section aria-labelledby="user-title">
      <p>
        <a href="#/users">← Users</a>
      </p>
      <h1 id="user-title">{user ? user.email : 'User'}</h1>
      <ErrorBox error={error} />
      {user && (
        <>
          <dl class="facts">
            <dt>Id</dt>
            <dd>
              <code>{user.id}</code>
            </dd>
            <dt>Tier</dt>
            <dd data-testid="user-tier">{user.tier}</dd>
            <dt>Customer</dt>
            <dd data-testid="user-customer">{user.customerId || '—'}</dd>
            <dt>Roles</dt>
            <dd>{user.roles.join(', ') || '—'}</dd>
            <dt>Created</dt>
            <dd>
              <time dateTime={user.createdAt}>{user.createdAt}</time>
            </dd>
          </dl>
          <div class="filters">
            <SetField
              label="New tier"
              name="tier"
              initial={user.tier}
              action="Set tier"
              save={(tier) => gale.admin.users.setTier(user.id, { tier })}
              onSaved={setUser}
            />
            <SetField
              label="New customer id"
              name="customer"
              hint="Empty for none."
              initial={user.customerId}
              action="Set customer"
              save={(customerId) => gale.admin.users.setCustomer(user.id, { customerId })}
              onSaved={setUser}
            />
          </div>
          <UserCredentials gale={gale} userId={user.id} />
        </>
      )}
    </section>
  );
}

interface SetFieldProps {
  label: string;
  name: string;
  hint?: string;
  initial: string;
  action: string;
  save: (value: string) => Promise<User>;
  onSaved: (user: User) => void;
}

function SetField({ label, name, hint, initial, action, save, onSaved }: SetFieldProps) {
  const [value, setValue] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const hintId = `${name}-hint`;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      onSaved(await save(value.trim()));
      setDone(`${action}: saved.`);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} class="panel">
      <label>
        {label}
        <input name={name} value={value} aria-describedby={hint ? hintId : undefined} onInput={(e) => setValue(e.currentTarget.value)} />
      </label>
      {hint && (
        <p id={hintId} class="note">
          {hint}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {action}
      </button>
      <p class="sr-status" role="status">
        {done}
      </p>
      <ErrorBox error={error} />
    </form>
  );
}
