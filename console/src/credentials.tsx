import type { components, Gale } from '@gale/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { SecretDialog, type SecretField } from './secret-dialog.js';

type ApiKey = components['schemas']['ApiKey'];
type SessionToken = components['schemas']['SessionToken'];
type Credential = (ApiKey & { expiresAt?: undefined }) | SessionToken;

/** What differs between a user's API key pairs and their session tokens; the page around them is the same. */
interface Kind {
  noun: string;
  title: string;
  list(gale: Gale, userId: string): AsyncGenerator<Credential, void, undefined>;
  revoke(gale: Gale, id: string): Promise<void>;
}

const KEYS: Kind = {
  noun: 'API key',
  title: 'API keys',
  list: (gale, userId) => gale.admin.users.apiKeys(userId, { pageSize: 100 }),
  revoke: (gale, id) => gale.admin.users.revokeApiKey(id),
};
const TOKENS: Kind = {
  noun: 'token',
  title: 'Session tokens',
  list: (gale, userId) => gale.admin.users.tokens(userId, { pageSize: 100 }),
  revoke: (gale, id) => gale.admin.users.revokeToken(id),
};

interface Created {
  title: string;
  fields: SecretField[];
}

/**
 * A user's API key pairs and session tokens: prefixes and dates only (the API keeps no secret to show), creation
 * with the secret in a dialog once, and revocation after a confirmation.
 */
export function UserCredentials({ gale, userId }: { gale: Gale; userId: string }) {
  const [created, setCreated] = useState<Created | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const [ttl, setTtl] = useState('24h');
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const create = async (make: () => Promise<Created>) => {
    setBusy(true);
    setError(undefined);
    try {
      setCreated(await make());
      setGeneration((g) => g + 1);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  const createKey = () =>
    create(async () => {
      const key = await gale.admin.users.createApiKey(userId);
      return { title: 'New API key pair', fields: [{ label: 'API key', value: key.apiKey }, { label: 'API secret', value: key.apiSecret }] };
    });
  const createToken = (event: Event) => {
    event.preventDefault();
    void create(async () => {
      const token = await gale.admin.users.createToken(userId, ttl.trim() === '' ? {} : { ttl: ttl.trim() });
      return { title: 'New session token', fields: [{ label: 'Token', value: token.token }] };
    });
  };

  return (
    <>
      <ErrorBox error={error} />
      <CredentialTable gale={gale} userId={userId} kind={KEYS} generation={generation}>
        <button type="button" class="primary" disabled={busy} onClick={() => void createKey()}>
          Create API key
        </button>
      </CredentialTable>
      <CredentialTable gale={gale} userId={userId} kind={TOKENS} generation={generation}>
        <form class="row" onSubmit={createToken}>
          <label class="inline">
            Lifetime
            <input name="ttl" value={ttl} size={6} aria-describedby="ttl-hint" onInput={(e) => setTtl(e.currentTarget.value)} />
          </label>
          <span id="ttl-hint" class="note">
            90s, 30m, 24h, 7d…
          </span>
          <button type="submit" class="primary" disabled={busy}>
            Create token
          </button>
        </form>
      </CredentialTable>
      {created && <SecretDialog title={created.title} fields={created.fields} onClose={() => setCreated(undefined)} />}
    </>
  );
}

function CredentialTable({ gale, userId, kind, generation, children }: { gale: Gale; userId: string; kind: Kind; generation: number; children: ComponentChildren }) {
  const [items, setItems] = useState<Credential[] | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const [reload, setReload] = useState(0);
  const headingId = `${kind.noun.replace(/\W+/g, '-').toLowerCase()}-title`;

  useEffect(() => {
    let live = true;
    (async () => {
      const all: Credential[] = [];
      for await (const item of kind.list(gale, userId)) all.push(item);
      if (live) setItems(all);
    })().catch((e) => live && setError(describe(e)));
    return () => {
      live = false;
    };
  }, [gale, userId, generation, reload]);

  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await kind.revoke(gale, id);
      setConfirming(undefined);
      setReload((r) => r + 1);
    } catch (e) {
      setError(describe(e));
    }
  };

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{kind.title}</h2>
      {children}
      <ErrorBox error={error} />
      {items && items.length === 0 && <p class="empty">No {kind.noun}s yet.</p>}
      {items && items.length > 0 && (
        <div class="table-wrap">
          <table aria-labelledby={headingId}>
            <thead>
              <tr>
                <th scope="col">Prefix</th>
                <th scope="col">Created</th>
                {kind === TOKENS && <th scope="col">Expires</th>}
                <th scope="col">State</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => {
                const name = item.prefix ? `${item.prefix}…` : `(made ${item.createdAt})`;
                const expired = item.expiresAt !== undefined && Date.parse(item.expiresAt) <= Date.now();
                return (
                  <tr key={item.id} data-credential={item.id}>
                    <td>
                      <code>{name}</code>
                    </td>
                    <td>
                      <time dateTime={item.createdAt}>{item.createdAt}</time>
                    </td>
                    {kind === TOKENS && (
                      <td>
                        <time dateTime={item.expiresAt}>{item.expiresAt}</time>
                      </td>
                    )}
                    <td>{item.revokedAt ? `revoked ${item.revokedAt}` : expired ? 'expired' : 'active'}</td>
                    <td>
                      {item.revokedAt ? null : confirming === item.id ? (
                        <div class="row" role="group" aria-label={`Revoke ${kind.noun} ${name}?`}>
                          <span>Revoke {name}? Anything using it stops working at once.</span>
                          <button type="button" class="danger" onClick={() => void revoke(item.id)}>
                            Revoke for ever
                          </button>
                          <button type="button" onClick={() => setConfirming(undefined)}>
                            Cancel
                          </button>
                        </div>
                      ) : (
                        <button type="button" class="danger" aria-label={`Revoke ${kind.noun} ${name}…`} onClick={() => setConfirming(item.id)}>
                          Revoke…
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
