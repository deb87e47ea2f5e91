import type { InstanceView } from '../contracts/instance.js';
import type { OperationStatus, OperationView } from '../contracts/operation.js';
import type { TemplateView } from '../contracts/catalog.js';
import { machineTypePath, type Template } from '../domain/catalog.js';
import { formatTimestamp } from '../domain/clock.js';
import type { InstanceSummary } from '../domain/instance.js';
import type { Operation } from '../domain/store.js';

export function instanceView(record: InstanceSummary): InstanceView {
  return {
    id: record.id,
    userId: record.userId,
    customerId: record.customerId,
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

function operationStatus(operation: Operation): OperationStatus {
  if (operation.state === 'done') return 'DONE';
  if (operation.state === 'failed') return 'FAILED';
  return operation.startedAt === null ? 'PENDING' : 'RUNNING';
}

export function operationView(operation: Operation): OperationView {
  const view: OperationView = {
    id: operation.id,
    kind: operation.kind,
    instanceId: operation.instanceId,
    userId: operation.userId,
    status: operationStatus(operation),
    createdAt: formatTimestamp(operation.createdAt),
  };
  if (operation.startedAt !== null) view.startedAt = formatTimestamp(operation.startedAt);
  if (operation.finishedAt !== null) view.finishedAt = formatTimestamp(operation.finishedAt);
  if (operation.state === 'failed') view.error = { message: operation.error ?? 'the operation failed' };
  return view;
}
