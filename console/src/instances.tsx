import type { Gale, Instance } from '@gale/client';
import { useState } from 'preact/hooks';
import { CreateInstance } from './create.js';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { useLiveInstances } from './live.js';
import { age, refusal, shortMachineType } from './power.js';
import { StatusBadge } from './status.js';

type SortKey = 'createdAt' | 'id' | 'status' | 'zone' | 'machineType';
const SORTS: Record<SortKey, string> = { createdAt: 'Age', id: 'Name', status: 'Status', zone: 'Zone', machineType: 'Machine type' };

export function InstancesPage({ gale }: { gale: Gale }) {
  const live = useLiveInstances(gale);
  const [creating, setCreating] = useState(false);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<SortKey>('createdAt');
  const [descending, setDescending] = useState(true);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [notice, setNotice] = useState('');

  const needle = filter.trim().toLowerCase();
  const shown = live.instances
    .filter((i) => !needle || [i.id, i.status, i.zone, i.machineType, i.templateId, i.externalIp, i.internalIp].some((v) => v.toLowerCase().includes(needle)))
    .sort((a, b) => (descending ? -1 : 1) * String(a[sort]).localeCompare(String(b[sort])));
  const chosen = shown.filter((i) => selected.has(i.id));

  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const bulk = async (action: 'start' | 'stop' | 'delete') => {
    if (action === 'delete' && !window.confirm(`Delete ${chosen.length} instance(s)? This cannot be undone.`)) return;
    setError(undefined);
    const targets = action === 'delete' ? chosen : chosen.filter((i) => refusal(action, i.status) === undefined);
    const results = await Promise.allSettled(targets.map((i) => (action === 'delete' ? gale.instances.delete(i.id) : gale.instances[action](i.id))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) setError(describe(failed.reason));
    if (action === 'delete') targets.forEach((i, n) => results[n]?.status === 'fulfilled' && live.remove(i.id));
    setNotice(`${action}: ${results.filter((r) => r.status === 'fulfilled').length} of ${targets.length} accepted`);
    setSelected(new Set());
  };

  const sortHeader = (key: SortKey) => (
    <th scope="col" aria-sort={sort === key ? (descending ? 'descending' : 'ascending') : undefined}>
      <button
        type="button"
        class="sort"
        onClick={() => {
          if (sort === key) setDescending(!descending);
          else {
            setSort(key);
            setDescending(key === 'createdAt');
          }
        }}
      >
        {SORTS[key]}
      </button>
    </th>
  );

  return (
    <section aria-labelledby="instances-title">
      <div class="title-row">
        <h1 id="instances-title">Instances</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)} disabled={creating}>
          Create instance
        </button>
      </div>
      {creating && (
        <CreateInstance
          gale={gale}
          onClose={() => setCreating(false)}
          onCreated={(instance: Instance) => {
            live.upsert(instance);
            setCreating(false);
            setNotice(`Created ${instance.id}`);
          }}
        />
      )}
      <ErrorBox error={error ?? (live.error ? describe(live.error) : undefined)} onDismiss={() => setError(undefined)} />
      <p class="sr-status" role="status" aria-live="polite">
        {notice}
      </p>
      <div class="toolbar">
        <label>
          Filter
          <input type="search" name="filter" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} placeholder="name, status, zone…" />
        </label>
        <div class="row" role="group" aria-label="Selected instances">
          <button type="button" disabled={chosen.length === 0} onClick={() => bulk('start')}>
            Start selected
          </button>
          <button type="button" disabled={chosen.length === 0} onClick={() => bulk('stop')}>
            Stop selected
          </button>
          <button type="button" class="danger" disabled={chosen.length === 0} onClick={() => bulk('delete')}>
            Delete selected
          </button>
        </div>
      </div>
      <div class="table-wrap">
        <table class="instances" aria-labelledby="instances-title">
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all shown"
                  checked={shown.length > 0 && chosen.length === shown.length}
                  onChange={(e) => setSelected(e.currentTarget.checked ? new Set(shown.map((i) => i.id)) : new Set())}
                />
              </th>
              {sortHeader('id')}
              {sortHeader('status')}
              {sortHeader('zone')}
              {sortHeader('machineType')}
              <th scope="col">Addresses</th>
              {sortHeader('createdAt')}
            </tr>
          </thead>
          <tbody>
            {shown.map((i) => (
              <tr key={i.id} data-instance={i.id}>
                <td>
                  <input type="checkbox" aria-label={`Select ${i.id}`} checked={selected.has(i.id)} onChange={() => toggle(i.id)} />
                </td>
                <td>
                  <a href={`#/instances/${encodeURIComponent(i.id)}`}>{i.id}</a>
                </td>
                <td>
                  <StatusBadge status={i.status} />
                </td>
                <td>{i.zone}</td>
                <td>{shortMachineType(i.machineType)}</td>
                <td class="addresses">
                  {i.externalIp || i.internalIp ? (
                    <>
                      {i.externalIp && <span>ext {i.externalIp}</span>} {i.internalIp && <span>int {i.internalIp}</span>}
                    </>
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  <time dateTime={i.createdAt} title={i.createdAt}>
                    {age(i.createdAt)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {live.loaded && shown.length === 0 && <p class="empty">{live.instances.length === 0 ? 'No instances yet: create one.' : 'No instance matches the filter.'}</p>}
    </section>
  );
}
