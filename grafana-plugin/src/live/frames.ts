/**
 * Maps service events to rows of a bounded streaming data frame: time from the event timestamp, then the fields the
 * query selects (or every number and string of the event's data), optionally one series per event key.
 */
import { DataFrameJSON, FieldType, StreamingDataFrame } from '@grafana/data';
import type { DataStreamingQuery, WireEvent } from '../types';

const MAX_DEPTH = 4;
const MAX_FIELDS = 200;

export type Row = { time: number; values: Map<string, number | string> };

function flatten(data: unknown, prefix: string, depth: number, out: Map<string, number | string>): void {
  if (typeof data === 'number' || typeof data === 'string') {
    out.set(prefix || 'value', data);
    return;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data) || depth >= MAX_DEPTH) {
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    if (out.size >= MAX_FIELDS) {
      return;
    }
    flatten(value, prefix ? `${prefix}.${key}` : key, depth + 1, out);
  }
}

export function readPath(data: unknown, path: string): unknown {
  let node = data;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** One row per event that the query keeps; events without a valid time or with nothing to show give none. */
export function eventRows(events: readonly WireEvent[], query: DataStreamingQuery): Row[] {
  const rows: Row[] = [];
  for (const event of events) {
    if (query.eventType && event.type !== query.eventType) {
      continue;
    }
    const time = Date.parse(event.timestamp);
    if (!Number.isFinite(time)) {
      continue;
    }
    const found = new Map<string, number | string>();
    if (query.fields && query.fields.length > 0) {
      for (const path of query.fields) {
        const value = readPath(event.data, path);
        if (typeof value === 'number' || typeof value === 'string') {
          found.set(path, value);
        }
      }
    } else {
      flatten(event.data, '', 0, found);
    }
    if (found.size === 0) {
      continue;
    }
    const values = new Map<string, number | string>();
    const suffix = query.groupBy === 'key' && event.key ? ` ${event.key}` : '';
    let first = true;
    for (const [path, value] of found) {
      const name = first && query.alias ? query.alias : path;
      values.set(`${name}${suffix}`, value);
      first = false;
    }
    rows.push({ time, values });
  }
  return rows;
}

/**
 * A streaming frame that keeps at most `capacity` rows (and, with a window, only rows that recent). New fields
 * (a new key, a field that appears later) extend the schema; earlier rows read them as empty.
 */
export class LiveFrame {
  readonly frame: StreamingDataFrame;
  private readonly names: string[] = [];
  private readonly types = new Map<string, FieldType>();

  constructor(refId: string, capacity: number, windowSeconds?: number) {
    this.frame = StreamingDataFrame.fromDataFrameJSON(
      { schema: { refId, fields: [{ name: 'time', type: FieldType.time }] } },
      { maxLength: capacity, ...(windowSeconds ? { maxDelta: windowSeconds * 1000 } : {}) }
    );
  }

  append(rows: readonly Row[]): void {
    if (rows.length === 0) {
      return;
    }
    let schemaChanged = false;
    for (const row of rows) {
      for (const [name, value] of row.values) {
        if (!this.types.has(name)) {
          this.types.set(name, typeof value === 'number' ? FieldType.number : FieldType.string);
          this.names.push(name);
          schemaChanged = true;
        }
      }
    }
    const columns: unknown[][] = [
      rows.map((row) => row.time),
      ...this.names.map((name) => rows.map((row) => row.values.get(name) ?? null)),
    ];
    const message: DataFrameJSON = { data: { values: columns } };
    if (schemaChanged) {
      message.schema = {
        refId: this.frame.refId,
        fields: [
          { name: 'time', type: FieldType.time },
          ...this.names.map((name) => ({ name, type: this.types.get(name) })),
        ],
      };
    }
    this.frame.push(message);
  }

  get length(): number {
    return this.frame.length;
  }
}
