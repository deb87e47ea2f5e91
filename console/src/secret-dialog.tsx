import { useEffect, useRef, useState } from 'preact/hooks';

export interface SecretField {
  label: string;
  value: string;
}

/**
 * A just-made credential, shown once in a modal dialog: the server answers its secret to the create call only, and
 * the console keeps it in this component's state alone (never storage, never a URL), dropped when the dialog closes.
 */
export function SecretDialog({ title, fields, onClose }: { title: string; fields: SecretField[]; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  return (
    <dialog ref={ref} class="secret-dialog" aria-labelledby="secret-title" aria-describedby="secret-notice" onClose={onClose}>
      <h2 id="secret-title">{title}</h2>
      <p id="secret-notice" class="notice" role="note">
        <strong>You will not see this again.</strong> Copy it now and keep it somewhere safe: Gale keeps only a hash of
        it, and closing this dialog forgets it.
      </p>
      {fields.map((field) => (
        <SecretValue key={field.label} {...field} />
      ))}
      <div class="row">
        <button type="button" class="primary" onClick={() => ref.current?.close()}>
          I have copied it, close
        </button>
      </div>
    </dialog>
  );
}

function SecretValue({ label, value }: SecretField) {
  const [copied, setCopied] = useState<'yes' | 'select' | undefined>(undefined);
  const input = useRef<HTMLInputElement>(null);
  const id = `secret-${label.replace(/\W+/g, '-').toLowerCase()}`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      // No clipboard outside a secure context (plain http to a remote host): select it for the user to copy.
      input.current?.select();
      setCopied('select');
    }
  };
  return (
    <div class="secret">
      <label for={id}>{label}</label>
      <div class="row">
        <input id={id} ref={input} class="secret-value" readOnly value={value} autocomplete="off" spellcheck={false} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={copy}>
          Copy {label}
        </button>
      </div>
      <p class="sr-status" role="status">
        {copied === 'yes' ? `${label} copied.` : copied === 'select' ? `${label} selected: press Ctrl+C to copy it.` : ''}
      </p>
    </div>
  );
}
