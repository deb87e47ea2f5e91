import type { Gale, Quotas } from '@gale/client';
import { useEffect, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { useEvents } from './live.js';

/** The request allowance as the API's RateLimit-* headers gave it with the answer to GET /quotas. */
interface Allowance {
  limit: number;
  remaining: number;
  resetSeconds: number;
  readAt: string;
}

function allowanceOf(headers: Headers): Allowance | undefined {
  const number = (name: string) => {
    const value = headers.get(name);
    return value === null || value.trim() === '' || !Number.isFinite(Number(value)) ? undefined : Number(value);
  };
  const limit = number('ratelimit-limit');
  const remaining = number('ratelimit-remaining');
  const resetSeconds = number('ratelimit-reset');
  if (limit === undefined || remaining === undefined || resetSeconds === undefined) return undefined;
  return { limit, remaining, resetSeconds, readAt: new Date().toLocaleTimeString() };
}

/**
 * Bars for the tier's quotas, read again whenever an instance is created or deleted (from the event stream), and the
 * request allowance left this minute. The typed client's `call` answers the headers with the data, so the allowance
 * comes with the same request: reading it spends one request, as any request does.
 */
export function QuotasPage({ gale }: { gale: Gale }) {
  const [quotas, setQuotas] = useState<Quotas | undefined>(undefined);
  const [allowance, setAllowance] = useState<Allowance | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const load = () =>
    gale.call('getQuotas').then(
      (answer) => {
        setError(undefined);
        setQuotas(answer.data);
        setAllowance(allowanceOf(answer.headers));
      },
      (e) => setError(describe(e)),
    );

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
          <h2 id="allowance-title">Request allowance</h2>
          {allowance ? (
            <>
              <Bar label="Requests left this minute" usage={allowance.remaining} limit={allowance.limit} remaining={allowance.remaining} />
              <p class="note" data-testid="allowance-reset">
                Whole again in {allowance.resetSeconds} s (read at {allowance.readAt}). Every request with these
                credentials spends one, this page's included; past the allowance the API answers 429.
              </p>
            </>
          ) : (
            <p class="note">The server sent no rate-limit headers with this answer.</p>
          )}
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
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
