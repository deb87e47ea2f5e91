import type { Instance } from '../client/index.js';

/* How results are printed: aligned tables for people, JSON or YAML for programs, bare ids for shell pipelines. */

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

const PLAIN = /^[A-Za-z0-9_./@-][A-Za-z0-9_ ./@:-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~|-?\d+(\.\d+)?([eE][-+]?\d+)?)$/i;

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  return PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(' ') && !text.includes(': ') ? text : JSON.stringify(text);
}

/** A small YAML emitter for JSON values (maps, lists, scalars); strings that could be misread are double-quoted. */
export function toYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object' && Object.keys(item).length > 0) {
          const nested = toYaml(item, indent + 2);
          return `${pad}- ${nested.slice(indent + 2)}`;
        }
        return `${pad}- ${inline(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return `${pad}{}\n`;
    return entries
      .map(([key, item]) => {
        const name = scalar(key);
        if (item !== null && typeof item === 'object' && Object.keys(item).length > 0) return `${pad}${name}:\n${toYaml(item, indent + 2)}`;
        return `${pad}${name}: ${inline(item)}\n`;
      })
      .join('');
  }
  return `${pad}${scalar(value)}\n`;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (value !== null && typeof value === 'object') return '{}';
  if (typeof value === 'string' && value.includes('\n')) return JSON.stringify(value);
  return scalar(value);
}

/** Prints a value as asked: JSON, YAML, or the table the caller renders. */
export function print(value: unknown, format: OutputFormat, asTable: () => string): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(toYaml(value));
  else process.stdout.write(asTable());
}

/** How long ago: 45s, 12m, 3h, 5d. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return '';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The machine type's last path segment: zones/us-central1-a/machineTypes/e2-micro -> e2-micro. */
export const machineTypeName = (machineType: string): string => machineType.split('/').pop() ?? machineType;

export const INSTANCE_HEADERS = ['ID', 'ZONE', 'MACHINE TYPE', 'STATUS', 'INTERNAL IP', 'EXTERNAL IP', 'AGE'];

export function instanceRow(instance: Instance): string[] {
  return [instance.id, instance.zone, machineTypeName(instance.machineType), instance.status, instance.internalIp || '-', instance.externalIp || '-', age(instance.createdAt)];
}

export const instanceTable = (instances: Instance[]): string => table(INSTANCE_HEADERS, instances.map(instanceRow));

/** Elapsed seconds with a tenth: 3.2s. */
export const elapsed = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)}s`;
