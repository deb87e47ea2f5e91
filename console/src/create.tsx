import type { Gale, Instance, Quotas, Template } from '@gale/client';
import { useEffect, useState } from 'preact/hooks';
import { describe, ErrorBox, type ShownError } from './errors.js';
import { vcpusOf } from './power.js';

/** Create: a template, then one of its zones, with the quota it will use shown before confirming. */
export function CreateInstance({ gale, onCreated, onClose }: { gale: Gale; onCreated: (instance: Instance) => void; onClose: () => void }) {
  const [templates, setTemplates] = useState<Template[]>([]);
  const [templateId, setTemplateId] = useState('');
  const [zones, setZones] = useState<string[]>([]);
  const [zone, setZone] = useState('');
  const [quotas, setQuotas] = useState<Quotas | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(undefined);

  useEffect(() => {
    gale.templates.list().then(setTemplates, (e) => setError(describe(e)));
    gale.quotas().then(setQuotas, (e) => setError(describe(e)));
  }, [gale]);

  useEffect(() => {
    setZones([]);
    setZone('');
    if (!templateId) return;
    gale.templates.zones(templateId).then(
      (z) => {
        setZones(z);
        setZone(z[0] ?? '');
      },
      (e) => setError(describe(e)),
    );
  }, [gale, templateId]);

  const template = templates.find((t) => t.id === templateId);
  const vcpus = template ? vcpusOf(template.machineType) : undefined;

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!templateId) return;
    setBusy(true);
    setError(undefined);
    try {
      onCreated(await gale.instances.create({ templateId, zone: zone || undefined }));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };

  const row = (name: string, needs: number | undefined, limit: { usage: number; limit: number } | undefined) => {
    const after = needs !== undefined && limit ? limit.usage + needs : undefined;
    const over = after !== undefined && limit ? after > limit.limit : false;
    return (
      <tr class={over ? 'over' : undefined}>
        <th scope="row">{name}</th>
        <td>{needs ?? '?'}</td>
        <td>{limit ? `${limit.usage} of ${limit.limit}` : '…'}</td>
        <td>{after !== undefined && limit ? `${after} of ${limit.limit}${over ? ' (over quota)' : ''}` : '…'}</td>
      </tr>
    );
  };

  return (
    <section class="panel" aria-labelledby="create-title">
      <h2 id="create-title">Create an instance</h2>
      <form onSubmit={submit}>
        <label for="create-template">Template</label>
        <select id="create-template" name="template" required value={templateId} onChange={(e) => setTemplateId(e.currentTarget.value)}>
            <option value="">Choose a template…</option>
            {templates.map((t) => (
              <option value={t.id} key={t.id}>
                {t.name} ({t.machineType}, {t.diskSizeGb} GB)
              </option>
            ))}
        </select>
        <label for="create-zone">Zone</label>
        <select id="create-zone" name="zone" required disabled={zones.length === 0} value={zone} onChange={(e) => setZone(e.currentTarget.value)}>
            {zones.length === 0 && <option value="">Choose a template first</option>}
            {zones.map((z) => (
              <option value={z} key={z}>
                {z}
              </option>
            ))}
        </select>
        {template && (
          <table class="quota-preview" aria-label="Quota this instance will use">
            <thead>
              <tr>
                <th scope="col">Quota</th>
                <th scope="col">Needs</th>
                <th scope="col">In use</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {row('Instances', 1, quotas?.quotas.instances)}
              {row('vCPUs', vcpus, quotas?.quotas.vcpus)}
              {row('Disk (GB)', template.diskSizeGb, quotas?.quotas.diskGb)}
            </tbody>
          </table>
        )}
        <div class="row">
          <button type="submit" class="primary" disabled={busy || !templateId || !zone}>
            {busy ? 'Creating…' : 'Create'}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
      <ErrorBox error={error} onDismiss={() => setError(undefined)} />
    </section>
  );
}
