/**
 * Loads the dashboard definitions (config/dashboards/*.json), checks each against the SPEC JSON Schema with ajv and
 * parses its panel queries against the metric store's metrics. Anything wrong stops start-up, naming the file and
 * the path of the error.
 */
import Ajv from 'ajv';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { AppConfig } from '../config/config.schema';
import { parsePanelQuery, QuerySyntaxError, type PanelQuery } from './query/panel-query';

export type PanelType = 'graph' | 'stat' | 'table' | 'gauge' | 'heatmap';

export interface PanelDefinition {
  panel_id: string;
  panel_type: PanelType;
  title?: string;
  unit?: string;
  data_query: string;
  refresh_interval?: number;
}

export interface DashboardDefinition {
  dashboard_id: string;
  dashboard_type: string;
  title?: string;
  update_frequency: number;
  data_sources: string[];
  panels?: PanelDefinition[];
  streaming_config?: { websocket_enabled?: boolean; sse_enabled?: boolean; compression_enabled?: boolean };
}

export interface LoadedDashboard {
  definition: DashboardDefinition;
  file: string;
  queries: Map<string, PanelQuery>;
}

export class DashboardDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardDefinitionError';
  }
}

/** The folder of the definitions: `live_dashboard.definitions_dir`, or config/dashboards of this installation. */
export function definitionsDir(config: AppConfig): string {
  return config.live_dashboard.definitions_dir
    ? resolve(config.live_dashboard.definitions_dir)
    : resolve(__dirname, '../../../config/dashboards');
}

const SCHEMA_FILE = 'dashboard.schema.json';

export function loadDashboards(config: AppConfig): LoadedDashboard[] {
  const dir = definitionsDir(config);
  const show = (file: string) => relative(process.cwd(), file) || file;
  const schemaPath = join(dir, SCHEMA_FILE);
  if (!existsSync(schemaPath)) throw new DashboardDefinitionError(`${show(schemaPath)}: the dashboard JSON Schema is missing`);
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i);
  const validate = ajv.compile<DashboardDefinition>(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

  const sources = new Map(config.metric_store.sources.map((source) => [source.metric, source]));
  const channels = new Set(config.websocket.channels);
  const loaded: LoadedDashboard[] = [];
  for (const type of config.live_dashboard.dashboards) {
    const file = join(dir, `${type}.json`);
    if (!existsSync(file)) throw new DashboardDefinitionError(`${show(file)}: no definition for dashboard ${type}`);
    let definition: unknown;
    try {
      definition = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new DashboardDefinitionError(`${show(file)}: not valid JSON (${(error as Error).message})`);
    }
    if (!validate(definition)) {
      const problems = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
      throw new DashboardDefinitionError(`${show(file)}: ${problems.join('; ')}`);
    }
    if (definition.dashboard_type !== type) {
      throw new DashboardDefinitionError(`${show(file)}: /dashboard_type is "${definition.dashboard_type}", expected "${type}"`);
    }
    definition.data_sources.forEach((source, index) => {
      if (!channels.has(source))
        throw new DashboardDefinitionError(
          `${show(file)}: /data_sources/${index} "${source}" is not a channel (${[...channels].join(', ')})`,
        );
    });
    const queries = new Map<string, PanelQuery>();
    (definition.panels ?? []).forEach((panel, index) => {
      const where = `${show(file)}: /panels/${index}/data_query`;
      if (queries.has(panel.panel_id))
        throw new DashboardDefinitionError(`${show(file)}: /panels/${index}/panel_id "${panel.panel_id}" is used twice`);
      let query: PanelQuery;
      try {
        query = parsePanelQuery(panel.data_query);
      } catch (error) {
        if (error instanceof QuerySyntaxError) throw new DashboardDefinitionError(`${where}: ${error.message}`);
        throw error;
      }
      const source = sources.get(query.metric);
      if (!source)
        throw new DashboardDefinitionError(`${where}: unknown metric "${query.metric}"; known metrics: ${[...sources.keys()].join(', ')}`);
      if (query.by !== undefined && query.by !== source.label) {
        throw new DashboardDefinitionError(`${where}: ${query.metric} is labelled by ${source.label}, not ${query.by}`);
      }
      if ((query.windowSeconds ?? 0) > config.metric_store.window) {
        throw new DashboardDefinitionError(
          `${where}: window ${query.windowSeconds}s is longer than the ${config.metric_store.window}s the metric store keeps`,
        );
      }
      queries.set(panel.panel_id, query);
    });
    loaded.push({ definition, file, queries });
  }
  return loaded;
}
