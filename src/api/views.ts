import type { InstanceView } from '../contracts/instance.js';
import type { TemplateView } from '../contracts/catalog.js';
import { machineTypePath, type Template } from '../domain/catalog.js';
import { formatTimestamp } from '../domain/clock.js';
import type { InstanceSummary } from '../domain/instance.js';

export function instanceView(record: InstanceSummary): InstanceView {
  return {
    id: record.id,
    userId: record.userId,
    name: record.id,
    zone: record.zone,
    machineType: machineTypePath(record.zone, record.machineType),
    externalIp: record.externalIp,
    internalIp: record.internalIp,
    status: record.status,
    templateId: record.templateId,
    createdAt: formatTimestamp(record.createdAt),
  };
}

/** Provider images are an operator's detail and stay out of the API. */
export function templateView(template: Template): TemplateView {
  const { providerImages: _hidden, ...view } = template;
  return view;
}
