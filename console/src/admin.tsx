import type { AdminInstanceList, Gale } from '@gale/client';
import { useEffect, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { activeFilters, FilterForm } from './filter-form.js';
import { age, shortMachineType } from './power.js';
import { StatusBadge } from './status.js';

type Filters = {
  userID: string;
  customerID: string;
  status: string;
  zone: string;
  templateID: string;
};
const EMPTY: Filters = { userID: '', customerID: '', status: '', zone: '', templateID: '' };
const PAGE_SIZE = 20;
const LABELS: Record<keyof Filters, string> = { userID: 'User id', customerID: 'Customer id', status: 'Status', zone: 'Zone', templateID: 'Template' };

/** Every user's instances, for compute admins: filters as the admin list route takes them, and pages. */
export function AdminPage({ gale }: { gale: Gale }) {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [page, setPage] = useState(1);
  const [result, setResult] = useState<AdminInstanceList | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);

  useEffect(() => {
    const query = activeFilters(filters);
    setError(undefined);
    gale.admin.instances.list({ ...query, page, pageSize: PAGE_SIZE }).then(setResult, (e) => setError(describe(e)));
  }, [gale, filters, page]);

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">All instances</h1>
      <FilterForm
        labels={LABELS}
        empty={EMPTY}
        onApply={(applied) => {
          setPage(1);
          setFilters(applied);
        }}
      />
      <ErrorBox error={error} />
      {result && (
        <>
          <p role="status">
            {result.items} instance(s), page {Math.min(page, Math.max(result.pages, 1))} of {Math.max(result.pages, 1)}
          </p>
          <div class="table-wrap">
            <table aria-labelledby="admin-title">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">User</th>
                  <th scope="col">Status</th>
                  <th scope="col">Zone</th>
                  <th scope="col">Machine type</th>
                  <th scope="col">Age</th>
                </tr>
              </thead>
              <tbody>
                {result.instances.map((i) => (
                  <tr key={i.id} data-instance={i.id}>
                    <td>{i.id}</td>
                    <td>
                      <code>{i.userId}</code>
                    </td>
                    <td>
                      <StatusBadge status={i.status} />
                    </td>
                    <td>{i.zone}</td>
                    <td>{shortMachineType(i.machineType)}</td>
                    <td>{age(i.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="row" aria-label="Pages">
            <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous page
            </button>
            <button type="button" disabled={page >= result.pages} onClick={() => setPage(page + 1)}>
              Next page
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
