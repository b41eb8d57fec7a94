/**
 * The plugin's DataSource as Grafana constructs it for a direct-access data source of the given URL, with Node's HTTP
 * client standing in for Grafana's backend service. Those made through `tracked()` are closed by `closeAll()` after a
 * test: a stream outlives its last panel for `keepStreamsSeconds`.
 */
import type { DataSourceInstanceSettings } from '@grafana/data';
import { DataSource } from '../datasource';
import type { DataStreamingOptions } from '../types';
import { nodeHttp } from './backend';

export function directDataSource(url: string, jsonData: Partial<DataStreamingOptions> = {}): DataSource {
  const settings = {
    uid: 'data-streaming-api',
    type: 'llmops-datastreaming-datasource',
    name: 'Data Streaming API',
    url,
    access: 'direct',
    readOnly: true,
    jsonData: { accessMode: 'direct', url, ...jsonData },
    meta: {} as DataSourceInstanceSettings['meta'],
  } as DataSourceInstanceSettings<DataStreamingOptions>;
  return new DataSource(settings, { http: nodeHttp });
}

/** Data sources of one test file: `make` as `directDataSource`, `closeAll` closes the streams of every one made. */
export function tracked() {
  const made: DataSource[] = [];
  return {
    make(url: string, jsonData: Partial<DataStreamingOptions> = {}): DataSource {
      const ds = directDataSource(url, jsonData);
      made.push(ds);
      return ds;
    },
    closeAll(): void {
      made.splice(0).forEach((ds) => ds.streams.closeAll());
    },
  };
}
