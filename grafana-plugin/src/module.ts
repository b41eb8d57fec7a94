import { DataSourcePlugin } from '@grafana/data';
import { DataSource } from './datasource';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataStreamingOptions, DataStreamingQuery } from './types';

export const plugin = new DataSourcePlugin<DataSource, DataStreamingQuery, DataStreamingOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
