/**
 * Every provisioned panel, as Grafana would run it: the dashboards of provisioning/grafana/dashboards with their
 * variables at their provisioned values, each target through the plugin against the real backend with its demo
 * data, and the frame checked against what the panel's visualization reads (time series and heatmap: a time field
 * and numbers; stat and gauge: numbers; table: rows).
 */
import {
  DataQueryRequest,
  DataQueryResponse,
  DataSourceInstanceSettings,
  FieldType,
  createDataFrame,
  dateTime,
  type DataFrame,
} from '@grafana/data';
import { readdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { DataSource } from './datasource';
import { Backend, eventually, nodeHttp, startBackend } from './test-support/backend';
import { useVariables, type TestVariable } from './test-support/template-srv';
import { DataStreamingOptions, DataStreamingQuery } from './types';

const DIR = resolve(__dirname, '../../provisioning/grafana/dashboards');
const PLUGIN_ID = 'llmops-datastreaming-datasource';

interface ProvisionedPanel {
  type: string;
  title: string;
  maxDataPoints?: number;
  datasource: { type: string };
  targets: DataStreamingQuery[];
}

interface ProvisionedDashboard {
  title: string;
  templating?: {
    list: Array<{ name: string; allValue?: string; current: { value: string | string[] } }>;
  };
  panels: ProvisionedPanel[];
}

const dashboards = readdirSync(DIR)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as ProvisionedDashboard)
  .filter((dashboard) => dashboard.panels.some((panel) => panel.datasource.type === PLUGIN_ID));

/** What is wrong with a frame for a panel of `type` (nothing: undefined). */
function misfit(type: string, frame: DataFrame | undefined): string | undefined {
  if (!frame || frame.length === 0) {
    return 'no rows';
  }
  const numbers = frame.fields.filter((field) => field.type === FieldType.number);
  const time = frame.fields.find((field) => field.type === FieldType.time);
  switch (type) {
    case 'timeseries':
    case 'heatmap':
      return !time ? 'no time field' : numbers.length === 0 ? 'no number field' : undefined;
    case 'stat':
    case 'gauge':
    case 'bargauge':
      return numbers.length === 0 ? 'no number field' : undefined;
    case 'table':
      return frame.fields.length === 0 ? 'no field' : undefined;
    default:
      return `a panel type this test does not know: ${type}`;
  }
}

describe('every provisioned panel gets the frame its visualization reads', () => {
  let backend: Backend;
  let ds: DataSource;

  beforeAll(async () => {
    backend = await startBackend({ env: { DATA_STREAMING_DEMO_ENABLED: 'true' } });
    const settings = {
      uid: 'data-streaming-api',
      type: PLUGIN_ID,
      name: 'Data Streaming API',
      url: backend.url,
      access: 'direct',
      readOnly: true,
      jsonData: { accessMode: 'direct', url: backend.url },
      meta: {} as DataSourceInstanceSettings['meta'],
    } as DataSourceInstanceSettings<DataStreamingOptions>;
    ds = new DataSource(settings, { http: nodeHttp });
  });
  afterAll(async () => {
    ds.streams.closeAll();
    useVariables([]);
    await backend.stop();
  });

  it('tells a label/value frame from what a time series or a heatmap reads', () => {
    const table = createDataFrame({
      fields: [
        { name: 'tenant', type: FieldType.string, values: ['acme', 'globex'] },
        { name: 'cost', type: FieldType.number, values: [1, 2] },
      ],
    });
    expect(misfit('heatmap', table)).toBe('no time field');
    expect(misfit('timeseries', table)).toBe('no time field');
    expect(misfit('table', table)).toBeUndefined();
    expect(misfit('stat', table)).toBeUndefined();
  });

  it('finds the provisioned dashboards', () => {
    expect(dashboards.map((dashboard) => dashboard.title).sort()).toEqual([
      'Live: Business intelligence',
      'Live: Channel explorer',
      'Live: Operational overview',
      'Live: Performance metrics',
      'Live: Real-time analytics',
      'Live: System health',
    ]);
  });

  it.each(dashboards.map((dashboard) => [dashboard.title, dashboard] as const))('%s', async (_title, dashboard) => {
    useVariables(
      (dashboard.templating?.list ?? []).map((variable): TestVariable => ({
        name: variable.name,
        current: variable.current.value,
        ...(variable.allValue === undefined ? {} : { allValue: variable.allValue }),
      }))
    );
    const now = Date.now();
    const problems = await Promise.all(
      dashboard.panels.map(async (panel) => {
        const responses: DataQueryResponse[] = [];
        const subscription = ds
          .query({
            targets: panel.targets,
            range: { from: dateTime(now - 15 * 60_000), to: dateTime(now), raw: { from: 'now-15m', to: 'now' } },
            maxDataPoints: panel.maxDataPoints ?? 1000,
            requestId: panel.title,
            app: 'dashboard',
            scopedVars: {},
          } as unknown as DataQueryRequest<DataStreamingQuery>)
          .subscribe((response) => responses.push(response));
        try {
          await eventually(
            () => (responses.some((response) => !misfit(panel.type, response.data[0])) ? true : undefined),
            20_000,
            panel.title
          );
          return undefined;
        } catch {
          const last = responses.at(-1);
          return `${panel.type} "${panel.title}": ${last?.errors?.[0]?.message ?? misfit(panel.type, last?.data[0])}`;
        } finally {
          subscription.unsubscribe();
        }
      })
    );
    expect(problems.filter(Boolean)).toEqual([]);
  });
});
