import { FieldType } from '@grafana/data';
import type { WireEvent } from '../types';
import { LiveFrame, eventRows } from './frames';

const event = (offset: number, data: unknown, extra: Partial<WireEvent> = {}): WireEvent => ({
  kind: 'event',
  id: `e1:${offset}`,
  channel: 'metrics_updates',
  type: 'llm.metrics',
  timestamp: new Date(Date.UTC(2026, 10, 26, 12, 0, offset)).toISOString(),
  data,
  ...extra,
});

describe('eventRows', () => {
  it('takes every number and string of the data, nested paths joined with dots', () => {
    const [row] = eventRows(
      [event(1, { error_rate: 0.01, latency_ms: { p95: 620, p99: 1400 }, model: 'm1', tags: ['x'], ok: true })],
      { refId: 'A' }
    );
    expect(row.time).toBe(Date.UTC(2026, 10, 26, 12, 0, 1));
    expect([...row.values]).toEqual([
      ['error_rate', 0.01],
      ['latency_ms.p95', 620],
      ['latency_ms.p99', 1400],
      ['model', 'm1'],
    ]);
  });

  it('keeps the selected fields, the event type asked for, and names them by alias and key', () => {
    const rows = eventRows(
      [
        event(1, { latency_ms: { p95: 620 }, error_rate: 0.1 }, { key: 'm1' }),
        event(2, { latency_ms: { p95: 700 } }, { type: 'other', key: 'm2' }),
      ],
      { refId: 'A', eventType: 'llm.metrics', fields: ['latency_ms.p95', 'error_rate'], alias: 'p95', groupBy: 'key' }
    );
    expect(rows).toHaveLength(1);
    expect([...rows[0].values]).toEqual([
      ['p95 m1', 620],
      ['error_rate m1', 0.1],
    ]);
  });

  it('skips events with a bad time or nothing to show', () => {
    expect(
      eventRows(
        [event(1, { x: 1 }, { timestamp: 'yesterday' }), event(2, { nested: { deeper: {} } }), event(3, null)],
        { refId: 'A' }
      )
    ).toEqual([]);
  });
});

describe('LiveFrame', () => {
  it('holds at most its capacity, newest last, and extends its schema for new fields', () => {
    const frame = new LiveFrame('A', 5);
    for (let offset = 0; offset < 8; offset++) {
      frame.append(
        eventRows([event(offset, offset < 6 ? { a: offset } : { a: offset, b: offset * 10 })], { refId: 'A' })
      );
    }
    expect(frame.length).toBe(5);
    const [time, a, b] = frame.frame.fields;
    expect(time.type).toBe(FieldType.time);
    expect(Array.from(a.values)).toEqual([3, 4, 5, 6, 7]);
    expect(b.name).toBe('b');
    expect(Array.from(b.values)).toEqual([undefined, undefined, undefined, 60, 70]);
  });

  it('keeps only rows inside the time window', () => {
    const frame = new LiveFrame('A', 100, 10);
    frame.append(eventRows([event(0, { a: 0 }), event(5, { a: 5 })], { refId: 'A' }));
    frame.append(eventRows([event(12, { a: 12 }), event(20, { a: 20 })], { refId: 'A' }));
    expect(Array.from(frame.frame.fields[1].values)).toEqual([12, 20]);
  });
});
