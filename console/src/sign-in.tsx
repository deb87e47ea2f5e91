import { useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { signIn, type Credentials, type Session } from './session.js';

export function SignIn({ onSignedIn, initialError }: { onSignedIn: (session: Session) => void; initialError?: ShownError }) {
  const [kind, setKind] = useState<'key' | 'token'>('key');
  const [token, setToken] = useState('');
  const [apiKey, setApiKey] = useState('');
  const [apiSecret, setApiSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(initialError);

  const submit = async (event: Event) => {
    event.preventDefault();
    const credentials: Credentials = kind === 'token' ? { kind, token: token.trim() } : { kind, apiKey: apiKey.trim(), apiSecret: apiSecret.trim() };
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(credentials));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in" tabIndex={-1}>
      <h1>Sign in to Gale</h1>
      <form onSubmit={submit} aria-describedby="sign-in-note">
        <fieldset>
          <legend>Credentials</legend>
          <label class="inline">
            <input type="radio" name="kind" value="key" checked={kind === 'key'} onChange={() => setKind('key')} /> API key pair
          </label>
          <label class="inline">
            <input type="radio" name="kind" value="token" checked={kind === 'token'} onChange={() => setKind('token')} /> Session token
          </label>
        </fieldset>
        {kind === 'key' ? (
          <>
            <label>
              API key
              <input name="api-key" autocomplete="username" required value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} />
            </label>
            <label>
              API secret
              <input name="api-secret" type="password" autocomplete="current-password" required value={apiSecret} onInput={(e) => setApiSecret(e.currentTarget.value)} />
            </label>
          </>
        ) : (
          <label>
            Token
            <input name="token" type="password" autocomplete="current-password" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p id="sign-in-note" class="note">
          Credentials are kept in this tab's session storage only, and removed when you sign out or close the tab.
        </p>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}
