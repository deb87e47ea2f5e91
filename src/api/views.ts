import type { InstanceView } from '../contracts/instance.js';
import type { OperationView } from '../contracts/operation.js';
import type { TemplateView } from '../contracts/catalog.js';
import { machineTypePath, type Template } from '../domain/catalog.js';
import { formatTimestamp } from '../domain/clock.js';
import type { InstanceSummary } from '../domain/instance.js';
import { operationStatus, type GaleEvent, type Operation } from '../domain/store.js';
import type { EventView } from '../contracts/event.js';

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

export function operationView(operation: Operation): OperationView {
  const view: OperationView = {
    id: operation.id,
    kind: operation.kind,
    instanceId: operation.instanceId,
    userId: operation.userId,
    requestedBy: operation.requestedBy,
    status: operationStatus(operation),
    createdAt: formatTimestamp(operation.createdAt),
  };
  if (operation.startedAt !== null) view.startedAt = formatTimestamp(operation.startedAt);
  if (operation.finishedAt !== null) view.finishedAt = formatTimestamp(operation.finishedAt);
  if (operation.state === 'failed') view.error = { message: operation.error ?? 'the operation failed' };
  return view;
}

/** An event as GET /events sends it: an operation's data is shown as GET /operations/{id} shows it. */
export function eventView(event: GaleEvent): EventView {
  const data = event.type === 'operation' ? operationView(event.data as unknown as Operation) : event.data;
  return {
    id: String(event.seq),
    type: event.type,
    time: formatTimestamp(event.at),
    instanceId: event.instanceId,
    userId: event.userId,
    data: data as EventView['data'],
  };
}
