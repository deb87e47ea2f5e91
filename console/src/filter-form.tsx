import { useState } from 'preact/hooks';

/** The non-empty filters, trimmed: what a list route takes as its query. */
export function activeFilters<F extends Record<string, string>>(filters: F): Record<string, string> {
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
}

/**
 * A row of text filters with Apply and Clear, as the admin lists have them: typing changes nothing until applied, so
 * that a list is not read again at every key.
 */
export function FilterForm<F extends Record<string, string>>(props: { labels: Record<keyof F, string>; empty: F; onApply: (filters: F) => void }) {
  const { labels, empty, onApply } = props;
  const [draft, setDraft] = useState<F>(empty);
  return (
    <form
      class="filters"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(draft);
      }}
    >
      {(Object.keys(labels) as (keyof F & string)[]).map((key) => (
        <label key={key}>
          {labels[key]}
          <input name={key} value={draft[key]} onInput={(e) => setDraft({ ...draft, [key]: e.currentTarget.value })} />
        </label>
      ))}
      <div class="row">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft(empty);
            onApply(empty);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
