/**
 * Template variables in queries, as Grafana's own data sources apply them (`getTemplateSrv().replace(text,
 * request.scopedVars, format)`): every text of a query may name variables. Channels, event types, fields and filter
 * values take multi-value variables (formatted as csv, then split): several channels become one query each, several
 * event types or filter values any of them, several fields each a field.
 */
import type { ScopedVars } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import type { DataStreamingQuery } from '../types';

const replace = (text: string | undefined, scopedVars: ScopedVars | undefined, format?: string): string | undefined =>
  text === undefined ? undefined : getTemplateSrv().replace(text, scopedVars, format);

const list = (text: string | undefined, scopedVars: ScopedVars | undefined): string[] =>
  (replace(text, scopedVars, 'csv') ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** The queries `query` stands for once its variables are replaced: one per channel of a multi-value channel. */
export function interpolate(query: DataStreamingQuery, scopedVars?: ScopedVars): DataStreamingQuery[] {
  const common: DataStreamingQuery = {
    ...query,
    eventType: replace(query.eventType, scopedVars, 'csv') || undefined,
    alias: replace(query.alias, scopedVars) || undefined,
    ...(query.fields ? { fields: query.fields.flatMap((field) => list(field, scopedVars)) } : {}),
    ...(query.filters
      ? {
          filters: query.filters.map((filter) => ({
            field: replace(filter.field, scopedVars) ?? '',
            value: replace(filter.value, scopedVars, 'csv') ?? '',
          })),
        }
      : {}),
  };
  if (query.queryType === 'dashboard') {
    return [{ ...common, dashboard: replace(query.dashboard, scopedVars), panel: replace(query.panel, scopedVars) }];
  }
  const channels = list(query.channel, scopedVars);
  return channels.map((channel) => ({ ...common, channel }));
}

/** A metric find query with its variables replaced (a chained variable: `fields($channel)`). */
export const interpolateText = (text: string, scopedVars?: ScopedVars): string => replace(text, scopedVars) ?? '';
