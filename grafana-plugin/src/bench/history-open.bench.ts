/**
 * How long a panel of the last hour takes to open: from query() to the first frame that holds the hour from the
 * service's history, at 1 event/s (3,600 events), on the real backend. The history is the service's own SQLite
 * history (storage.durability disk): 3,600 events are published, the service is stopped, their acceptance times and
 * timestamps are moved back to one a second over the last hour (what an hour at 1 event/s leaves on disk), and the
 * service is started again on it. Then each panel opens on a new data source (no stream kept from before), as a
 * dashboard opened in a new tab, with max data points 1,000 (a panel about 1,000 px wide: the newest 1,000 of the
 * hour) and 4,000 (the whole hour). Live events keep arriving at 1/s meanwhile.
 * Run: npm run bench -w grafana-plugin (after npm run build -w backend).
 */
import { DataQueryRequest, dateTime } from '@grafana/data';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { join } from 'path';
import { Backend, eventually, sleep, startBackend } from '../test-support/backend';
import { directDataSource } from '../test-support/data-sources';
import { DataStreamingQuery } from '../types';

const CHANNEL = 'metrics_updates';
const HOUR_EVENTS = 3600;
const SPACING_MS = 1000;
const RUNS = 7;
const POINTS = [1000, 4000];

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];

/** Moves the channel's history back so that event i was accepted (and stamped) HOUR_EVENTS - i seconds ago. */
function backdate(dataDir: string, now: number) {
  const db = new Database(join(dataDir, 'history.sqlite'));
  const rows = db.prepare('SELECT offset FROM messages WHERE channel = ? ORDER BY offset').all(CHANNEL) as Array<{
    offset: number;
  }>;
  if (rows.length !== HOUR_EVENTS) {
    throw new Error(`history holds ${rows.length} events of ${CHANNEL}, not ${HOUR_EVENTS}`);
  }
  const update = db.prepare(
    "UPDATE messages SET at = ?, payload = json_set(payload, '$.timestamp', ?) WHERE channel = ? AND offset = ?"
  );
  db.transaction(() => {
    rows.forEach(({ offset }, index) => {
      const at = now - (HOUR_EVENTS - index) * SPACING_MS;
      update.run(at, new Date(at).toISOString(), CHANNEL, offset);
    });
    db.prepare('UPDATE channels SET started_at = ? WHERE channel = ?').run(
      now - (HOUR_EVENTS + 60) * SPACING_MS,
      CHANNEL
    );
  })();
  db.close();
}

describe('a panel of the last hour', () => {
  let backend: Backend;
  let seededAt = 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'dsa-plugin-bench-'));
  const env = { DATA_STREAMING_DATA_DIR: dataDir, DATA_STREAMING_DURABILITY: 'disk' };

  beforeAll(async () => {
    const seeding = await startBackend({ env });
    for (let start = 0; start < HOUR_EVENTS; start += 1000) {
      await seeding.publish(
        Array.from({ length: Math.min(1000, HOUR_EVENTS - start) }, (_, index) => ({
          channel: CHANNEL,
          type: 'bench.tick',
          data: { sequence: start + index },
        }))
      );
    }
    await seeding.stop();
    seededAt = Date.now();
    backdate(dataDir, seededAt);
    backend = await startBackend({ env });
  }, 60_000);
  afterAll(() => backend?.stop());

  it('opens with its hour from history', async () => {
    let sequence = HOUR_EVENTS;
    let publishing = true;
    const live = (async () => {
      // Live events at 1/s while panels open, bounded by the bench's own length.
      for (let tick = 0; publishing && tick < 600; tick++) {
        await backend.publish([{ channel: CHANNEL, type: 'bench.tick', data: { sequence: sequence++ } }]);
        await sleep(SPACING_MS);
      }
    })();
    const rows: string[] = [];
    for (const maxDataPoints of POINTS) {
      const times: number[] = [];
      let framesBefore = 0;
      const rowCounts = new Set<number>();
      for (let run = 0; run < RUNS; run++) {
        const ds = directDataSource(backend.url);
        const now = Date.now();
        // Event i was accepted at seededAt - (3600 - i) s: the first still inside now-1h, and how many of the hour are.
        const firstInRange = Math.ceil((now - seededAt) / SPACING_MS);
        const expected = Math.min(maxDataPoints, HOUR_EVENTS - firstInRange);
        let frames = 0;
        let fullAt = 0;
        let oldest = -1;
        let newest = -1;
        let length = 0;
        const start = performance.now();
        const subscription = ds
          .query({
            targets: [{ refId: 'A', channel: CHANNEL, eventType: 'bench.tick', fields: ['sequence'] }],
            range: { from: dateTime(now - 3600_000), to: dateTime(now), raw: { from: 'now-1h', to: 'now' } },
            maxDataPoints,
            requestId: `bench-${run}`,
            app: 'dashboard',
            scopedVars: {},
          } as unknown as DataQueryRequest<DataStreamingQuery>)
          .subscribe((response) => {
            const values = response.data[0]?.fields?.find(
              (field: { name: string }) => field.name === 'sequence'
            )?.values;
            if (!values || fullAt) {
              return;
            }
            frames++;
            if (values.length >= expected) {
              fullAt = performance.now();
              oldest = values[0] as number;
              newest = values[values.length - 1] as number;
              length = values.length;
            }
          });
        await eventually(() => (fullAt ? true : undefined), 30_000, `a frame of ${expected} rows`);
        subscription.unsubscribe();
        ds.streams.closeAll();
        // The hour from history joined to live: contiguous, in order, up to the newest event; the whole hour when
        // the panel takes it, else the newest of it.
        expect(newest - oldest + 1).toBe(length);
        expect(newest).toBeGreaterThanOrEqual(HOUR_EVENTS - 1);
        if (maxDataPoints >= HOUR_EVENTS) {
          expect(oldest).toBe(firstInRange);
        }
        times.push(fullAt - start);
        rowCounts.add(length);
        framesBefore += frames - 1;
      }
      process.stdout.write(`max data points ${maxDataPoints}: ${times.map((ms) => ms.toFixed(1)).join(' ')} ms\n`);
      times.sort((a, b) => a - b);
      rows.push(
        `| ${maxDataPoints} | ${[...rowCounts].join(', ')} | ${RUNS} | ${percentile(times, 0.5).toFixed(1)} | ${times[times.length - 1].toFixed(1)} | ${framesBefore} |`
      );
    }
    publishing = false;
    await live;
    const table = [
      `A panel of now-1h at 1 event/s (3,600 events in the service's SQLite history), query() to the first full frame, ` +
        `on the real backend, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}`,
      '| max data points | rows in the first full frame | runs | median ms | max ms | frames before it |',
      '|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
    process.stdout.write(`\n${table}\n`);
  }, 180_000);
});
