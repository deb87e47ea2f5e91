import { GaleApiError, GaleConnectionError } from '@gale/client';
import { useState } from 'preact/hooks';

export interface ShownError {
  message: string;
  errorId?: string;
  code?: string;
}

/** What a user needs of any error: its message in the API's words, and the id to quote when reporting it. */
export function describe(error: unknown): ShownError {
  if (error instanceof GaleApiError) return { message: error.apiMessage, errorId: error.errorId || undefined, code: error.code };
  if (error instanceof GaleConnectionError) return { message: `The Gale server could not be reached: ${error.message}` };
  return { message: error instanceof Error ? error.message : String(error) };
}

export function ErrorBox({ error, onDismiss }: { error: ShownError | undefined; onDismiss?: () => void }) {
  const [copied, setCopied] = useState(false);
  if (!error) return null;
  const text = error.errorId ? `${error.message} (error id ${error.errorId})` : error.message;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      // No clipboard outside a secure context (plain http to a remote host): select the id for the user to copy.
      const code = document.querySelector('[data-testid="error-id"]');
      if (code) window.getSelection()?.selectAllChildren(code);
      setCopied(false);
    }
  };
  return (
    <div class="error" role="alert" data-testid="error">
      <p class="error-message">{error.message}</p>
      {error.errorId && (
        <p class="error-id">
          Error id: <code data-testid="error-id">{error.errorId}</code>
        </p>
      )}
      <div class="row">
        <button type="button" onClick={copy}>
          {copied ? 'Copied' : 'Copy error'}
        </button>
        {onDismiss && (
          <button type="button" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
    </div>
  );
}
