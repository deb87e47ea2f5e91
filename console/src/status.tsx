import type { InstanceStatus } from '@gale/client';

export function StatusBadge({ status }: { status: InstanceStatus }) {
  return (
    <span class={`status status-${status.toLowerCase()}`} data-status={status}>
      {status}
    </span>
  );
}
