/**
 * Maps service events to rows of a bounded streaming data frame: time from the event timestamp, then the fields the
 * query selects (or every number and string of the event's data), optionally one series per event key; events that
 * a filter does not match give no row.
 */
import { DataFrameJSON, FieldType, StreamingDataFrame } from '@grafana/data';
import type { DataStreamingQuery, EventFilter, WireEvent } from '../types';

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

/** What a filter accepts: its values (csv), or anything for `*` (a variable's All) or an empty value. */
function accepted(filter: EventFilter): Set<string> | undefined {
  const values = filter.value
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value !== '');
  return values.length === 0 || values.includes('*') ? undefined : new Set(values);
}

/** A test of events built once per query: does the event pass every filter? */
export function eventFilter(filters: readonly EventFilter[] | undefined): (event: WireEvent) => boolean {
  const tests = (filters ?? [])
    .filter((filter) => filter.field.trim() !== '')
    .map((filter) => ({ field: filter.field.trim(), values: accepted(filter) }))
    .filter((test): test is { field: string; values: Set<string> } => test.values !== undefined);
  if (tests.length === 0) {
    return () => true;
  }
  return (event) =>
    tests.every(({ field, values }) => {
      const value = field === 'key' ? event.key : field === 'type' ? event.type : readPath(event.data, field);
      return (typeof value === 'string' || typeof value === 'number') && values.has(String(value));
    });
}

/** For a dashboard panel's series: does a series label pass the filters on `label`? */
export function labelFilter(filters: readonly EventFilter[] | undefined): (label: string) => boolean {
  const tests = (filters ?? [])
    .filter((filter) => filter.field.trim() === 'label')
    .map(accepted)
    .filter((values): values is Set<string> => values !== undefined);
  return (label) => tests.every((values) => values.has(label));
}

/** One row per event that the query keeps; events without a valid time or with nothing to show give none. */
export function eventRows(
  events: readonly WireEvent[],
  query: DataStreamingQuery,
  matches: (event: WireEvent) => boolean = eventFilter(query.filters)
): Row[] {
  const rows: Row[] = [];
  const types = accepted({ field: 'type', value: query.eventType ?? '' });
  for (const event of events) {
    if ((types && !types.has(event.type)) || !matches(event)) {
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
 * (a new key, a field that appears later) extend the schema; earlier rows read them as empty. Rows older than the
 * frame's first can be put in front (history fetched when a panel's range grows): the frame is then rebuilt.
 */
export class LiveFrame {
  frame: StreamingDataFrame;
  private readonly names: string[] = [];
  private readonly types = new Map<string, FieldType>();

  constructor(
    private readonly refId: string,
    private readonly capacity: number,
    private readonly windowSeconds?: number
  ) {
    this.frame = this.empty();
  }

  private empty(): StreamingDataFrame {
    return StreamingDataFrame.fromDataFrameJSON(
      { schema: { refId: this.refId, fields: [{ name: 'time', type: FieldType.time }] } },
      { maxLength: this.capacity, ...(this.windowSeconds ? { maxDelta: this.windowSeconds * 1000 } : {}) }
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
    if (schemaChanged || this.frame.fields.length !== this.names.length + 1) {
      message.schema = {
        refId: this.refId,
        fields: [
          { name: 'time', type: FieldType.time },
          ...this.names.map((name) => ({ name, type: this.types.get(name) })),
        ],
      };
    }
    this.frame.push(message);
  }

  /** Puts `older` (rows before the frame's first) in front of the rows kept, within the capacity. */
  prepend(older: readonly Row[]): void {
    const first = this.firstTime;
    const before = first === undefined ? older : older.filter((row) => row.time < first);
    if (before.length === 0) {
      return;
    }
    const kept = this.rows();
    const meta = this.frame.meta;
    this.frame = this.empty();
    this.frame.meta = meta;
    this.append([...before, ...kept]);
  }

  /** The rows the frame holds, oldest first. */
  rows(): Row[] {
    const [time, ...fields] = this.frame.fields;
    if (!time) {
      return [];
    }
    const times = Array.from(time.values as ArrayLike<number>);
    return times.map((at, index) => ({
      time: at,
      values: new Map(
        fields.flatMap((field) => {
          const value = (field.values as ArrayLike<number | string | null>)[index];
          return value === null || value === undefined ? [] : [[field.name, value] as [string, number | string]];
        })
      ),
    }));
  }

  get firstTime(): number | undefined {
    const time = this.frame.fields[0];
    return this.frame.length > 0 && time ? (time.values[0] as number) : undefined;
  }

  get lastTime(): number | undefined {
    const time = this.frame.fields[0];
    return this.frame.length > 0 && time ? (time.values[this.frame.length - 1] as number) : undefined;
  }

  get length(): number {
    return this.frame.length;
  }
}
