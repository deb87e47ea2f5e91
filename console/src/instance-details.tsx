import type { Gale, Instance, Operation } from '@gale/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { useEvents } from './live.js';
import { age, LABELS, POWER_ACTIONS, refusal, shortMachineType, type PowerAction } from './power.js';
import { StatusBadge } from './status.js';

/** How often the serial console is read on while it is followed: the API has no stream of it. */
const SERIAL_FOLLOW_MS = 1_500;

export function InstanceDetails({ gale, id }: { gale: Gale; id: string }) {
  const [instance, setInstance] = useState<Instance | undefined>(undefined);
  const [operations, setOperations] = useState<Operation[]>([]);
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [confirmText, setConfirmText] = useState('');
  const [confirming, setConfirming] = useState(false);

  const loadOperations = () =>
    gale.operations.list({ instanceId: id }).then(
      (page) => setOperations(page.operations),
      () => undefined,
    );

  useEffect(() => {
    gale.instances.get(id).then(setInstance, (e) => setError(describe(e)));
    void loadOperations();
  }, [gale, id]);

  useEvents(gale, (message) => {
    if (message.type === 'stream.gap' || message.instanceId !== id) return;
    if (message.type === 'instance.deleted') setGone(true);
    if (message.type === 'instance.status') {
      const data = message.data as { status: Instance['status']; internalIp: string; externalIp: string };
      setInstance((current) => current && { ...current, status: data.status, internalIp: data.internalIp, externalIp: data.externalIp });
    }
    if (message.type === 'operation') void loadOperations();
  });

  const power = async (action: PowerAction) => {
    setError(undefined);
    try {
      await gale.instances[action](id);
      void loadOperations();
    } catch (e) {
      setError(describe(e));
    }
  };

  const remove = async (event: Event) => {
    event.preventDefault();
    if (confirmText !== id) return;
    setError(undefined);
    try {
      await gale.instances.delete(id);
      setGone(true);
    } catch (e) {
      setError(describe(e));
    }
  };

  if (!instance) {
    return (
      <section>
        <h1>Instance {id}</h1>
        {error ? <ErrorBox error={error} /> : <p>Loading…</p>}
        <a href="#/instances">Back to instances</a>
      </section>
    );
  }

  return (
    <section aria-labelledby="instance-title">
      <p>
        <a href="#/instances">← Instances</a>
      </p>
      <h1 id="instance-title">{instance.id}</h1>
      {gone && (
        <p class="notice" role="status">
          This instance is being deleted.
        </p>
      )}
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={instance.status} />
        </dd>
        <dt>Zone</dt>
        <dd>{instance.zone}</dd>
        <dt>Machine type</dt>
        <dd>{shortMachineType(instance.machineType)}</dd>
        <dt>Template</dt>
        <dd>{instance.templateId}</dd>
        <dt>External IP</dt>
        <dd>{instance.externalIp || '—'}</dd>
        <dt>Internal IP</dt>
        <dd>{instance.internalIp || '—'}</dd>
        <dt>Created</dt>
        <dd>
          <time dateTime={instance.createdAt}>{instance.createdAt}</time> ({age(instance.createdAt)} ago)
        </dd>
      </dl>
      <div class="row" role="group" aria-label="Power">
        {POWER_ACTIONS.map((action) => {
          const why = gone ? 'the instance is being deleted' : refusal(action, instance.status);
          return (
            <button type="button" key={action} disabled={why !== undefined} title={why} aria-describedby={why ? `why-${action}` : undefined} onClick={() => power(action)}>
              {LABELS[action]}
              {why && (
                <span id={`why-${action}`} class="visually-hidden">
                  {` (unavailable: ${why})`}
                </span>
              )}
            </button>
          );
        })}
      </div>
      <ErrorBox error={error} onDismiss={() => setError(undefined)} />

      <h2>Serial console</h2>
      <SerialConsole gale={gale} id={id} active={!gone} />

      <h2>Operations</h2>
      <div class="table-wrap">
        <table aria-label="Operations on this instance">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Accepted</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {operations.map((o) => (
              <tr key={o.id}>
                <td>{o.kind}</td>
                <td>{o.status}</td>
                <td>
                  <time dateTime={o.createdAt}>{o.createdAt}</time>
                </td>
                <td>{o.error?.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Delete</h2>
      {confirming ? (
        <form onSubmit={remove} class="danger-zone">
          <label>
            Type the instance id, {instance.id}, to delete it
            <input name="confirm-id" autocomplete="off" value={confirmText} onInput={(e) => setConfirmText(e.currentTarget.value)} />
          </label>
          <div class="row">
            <button type="submit" class="danger" disabled={confirmText !== instance.id || gone}>
              Delete for ever
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <button type="button" class="danger" disabled={gone} onClick={() => setConfirming(true)}>
          Delete instance…
        </button>
      )}
    </section>
  );
}

function SerialConsole({ gale, id, active }: { gale: Gale; id: string; active: boolean }) {
  const [text, setText] = useState('');
  const [follow, setFollow] = useState(true);
  const next = useRef(0);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: number | undefined;
    const read = async () => {
      try {
        const out = await gale.instances.serialPortOutput(id, { start: next.current });
        if (stopped) return;
        if (out.contents) setText((t) => (t + out.contents).slice(-200_000));
        next.current = Number(out.next);
      } catch {
        // Not there yet (provisioning) or gone: the next read says.
      }
      if (!stopped && follow) timer = window.setTimeout(read, SERIAL_FOLLOW_MS);
    };
    void read();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [gale, id, follow, active]);

  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);

  return (
    <div class="serial">
      <label class="inline">
        <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow output
      </label>
      <pre ref={pre} tabIndex={0} aria-label="Serial console output" data-testid="serial">
        {text || 'No output yet.'}
      </pre>
    </div>
  );
}
