import type { Gale, Quotas } from '@gale/client';
import { useEffect, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { useEvents } from './live.js';

/** Bars for the tier's quotas, read again whenever an instance is created or deleted (from the event stream). */
export function QuotasPage({ gale }: { gale: Gale }) {
  const [quotas, setQuotas] = useState<Quotas | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const load = () => gale.quotas().then(setQuotas, (e) => setError(describe(e)));

  useEffect(() => {
    void load();
  }, [gale]);
  useEvents(gale, (message) => {
    if (message.type === 'stream.gap' || message.type === 'instance.deleted') void load();
    else if (message.type === 'instance.status' && (message.data as { previousStatus: string | null }).previousStatus === null) void load();
  });

  return (
    <section aria-labelledby="quotas-title">
      <h1 id="quotas-title">Quotas</h1>
      <ErrorBox error={error} />
      {quotas && (
        <>
          <p>
            Tier <strong>{quotas.tier}</strong>, {quotas.requestsPerMinute} requests a minute.
          </p>
          <Bar label="Instances" {...quotas.quotas.instances} />
          <Bar label="vCPUs" {...quotas.quotas.vcpus} />
          <Bar label="Disk (GB)" {...quotas.quotas.diskGb} />
        </>
      )}
    </section>
  );
}

function Bar({ label, usage, limit }: { label: string; usage: number; limit: number; remaining: number }) {
  const id = `quota-${label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="quota">
      <div class="quota-label">
        <span id={id}>{label}</span>
        <span data-testid={`${id}-text`}>
          {usage} of {limit}
        </span>
      </div>
      <progress aria-labelledby={id} max={Math.max(limit, 1)} value={Math.min(usage, limit)}>
        {usage} of {limit}
      </progress>
    </div>
  );
}
