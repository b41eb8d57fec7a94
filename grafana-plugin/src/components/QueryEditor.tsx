import React, { useEffect, useState } from 'react';
import {
  Button,
  Combobox,
  ComboboxOption,
  IconButton,
  InlineField,
  InlineSwitch,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
} from '@grafana/ui';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { DataSource } from '../datasource';
import { DataStreamingOptions, DataStreamingQuery, EventFilter, PanelFormat, QueryType } from '../types';

type Props = QueryEditorProps<DataSource, DataStreamingQuery, DataStreamingOptions>;

const QUERY_TYPES: Array<SelectableValue<QueryType>> = [
  { label: 'Channel', value: 'stream', description: 'Events of a channel as they arrive' },
  { label: 'Dashboard panel', value: 'dashboard', description: 'A panel computed by a service dashboard' },
];

const FORMATS: Array<SelectableValue<PanelFormat>> = [
  { label: 'Time series', value: 'time_series', description: 'Every value over time: time series, heatmaps, stats' },
  { label: 'Table', value: 'table', description: 'The latest value by label: tables, bar gauges' },
];

const toOptions = (values: string[]): Array<ComboboxOption<string>> => values.map((value) => ({ label: value, value }));

/** Filters as rows of field and value(s); the values may be a variable (`$model`), several with commas, or `*`. */
function FiltersEditor({
  filters,
  onChange,
  onRunQuery,
}: {
  filters: EventFilter[];
  onChange: (filters: EventFilter[], run: boolean) => void;
  onRunQuery: () => void;
}) {
  const set = (index: number, patch: Partial<EventFilter>) =>
    onChange(
      filters.map((filter, at) => (at === index ? { ...filter, ...patch } : filter)),
      false
    );
  return (
    <Stack direction="column" gap={0.5}>
      {filters.map((filter, index) => (
        <Stack key={index} gap={1}>
          <InlineField label="Where" labelWidth={12} tooltip="A path into the event data, or key or type">
            <Input
              id={`query-editor-filter-field-${index}`}
              aria-label={`Filter ${index + 1} field`}
              width={20}
              value={filter.field}
              placeholder="model"
              onChange={(event) => set(index, { field: event.currentTarget.value })}
              onBlur={onRunQuery}
            />
          </InlineField>
          <InlineField
            label="is"
            labelWidth={6}
            tooltip="A value, several separated by commas, a variable, or * for any"
          >
            <Input
              id={`query-editor-filter-value-${index}`}
              aria-label={`Filter ${index + 1} value`}
              width={24}
              value={filter.value}
              placeholder="$model"
              onChange={(event) => set(index, { value: event.currentTarget.value })}
              onBlur={onRunQuery}
            />
          </InlineField>
          <IconButton
            name="trash-alt"
            aria-label={`Remove filter ${index + 1}`}
            onClick={() =>
              onChange(
                filters.filter((_filter, at) => at !== index),
                true
              )
            }
          />
        </Stack>
      ))}
      <div>
        <Button
          icon="plus"
          variant="secondary"
          size="sm"
          onClick={() => onChange([...filters, { field: '', value: '' }], false)}
        >
          Add filter
        </Button>
      </div>
    </Stack>
  );
}

/** Loads options from the service; an error leaves the list empty (the field still takes typed values). */
function useOptions(
  load: () => Promise<Array<ComboboxOption<string>>>,
  deps: unknown[]
): Array<ComboboxOption<string>> {
  const [options, setOptions] = useState<Array<ComboboxOption<string>>>([]);
  useEffect(() => {
    let active = true;
    load()
      .then((loaded) => active && setOptions(loaded))
      .catch(() => active && setOptions([]));
    return () => {
      active = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller names what the options depend on
  }, deps);
  return options;
}

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const queryType = query.queryType ?? 'stream';
  const channels = useOptions(async () => toOptions(await datasource.channels()), [datasource]);
  const fields = useOptions(
    async () => (query.channel ? toOptions(await datasource.fields(query.channel, query.eventType || undefined)) : []),
    [datasource, query.channel, query.eventType]
  );
  const dashboards = useOptions(
    async () =>
      (await datasource.metricFindQuery('dashboards()')).map((item) => ({
        label: item.text,
        value: String(item.value),
      })),
    [datasource]
  );
  const panels = useOptions(
    async () =>
      query.dashboard
        ? (await datasource.metricFindQuery(`panels(${query.dashboard})`)).map((item) => ({
            label: item.text,
            value: String(item.value),
          }))
        : [],
    [datasource, query.dashboard]
  );

  const update = (patch: Partial<DataStreamingQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const numberOrUndefined = (text: string) =>
    text.trim() === '' || !Number.isFinite(Number(text)) ? undefined : Number(text);
  const numberField = (
    label: string,
    id: string,
    tooltip: string,
    key: 'bufferSize' | 'windowSeconds' | 'staleAfterSeconds'
  ) => (
    <InlineField label={label} labelWidth={12} tooltip={tooltip}>
      <Input
        id={id}
        type="number"
        min={1}
        width={12}
        value={query[key] ?? ''}
        onChange={(event) => update({ [key]: numberOrUndefined(event.currentTarget.value) }, false)}
        onBlur={onRunQuery}
      />
    </InlineField>
  );

  return (
    <Stack direction="column" gap={1}>
      <RadioButtonGroup<QueryType>
        options={QUERY_TYPES}
        value={queryType}
        onChange={(value) => update({ queryType: value })}
      />
      {queryType === 'stream' ? (
        <Stack gap={1} wrap="wrap">
          <InlineField label="Channel" labelWidth={12}>
            <Combobox<string>
              id="query-editor-channel"
              aria-label="Channel"
              width={24}
              options={channels}
              value={query.channel ?? null}
              createCustomValue
              onChange={(option) => update({ channel: option.value, fields: [] })}
            />
          </InlineField>
          <InlineField label="Event type" labelWidth={12} tooltip="Keep only events of this type, e.g. llm.metrics">
            <Input
              id="query-editor-event-type"
              width={20}
              value={query.eventType ?? ''}
              placeholder="all"
              onChange={(event) => update({ eventType: event.currentTarget.value || undefined }, false)}
              onBlur={onRunQuery}
            />
          </InlineField>
          <InlineField
            label="Fields"
            labelWidth={12}
            tooltip="Paths into the event data; empty: every number and string"
          >
            <MultiCombobox<string>
              id="query-editor-fields"
              aria-label="Fields"
              width="auto"
              minWidth={30}
              options={fields}
              value={query.fields ?? []}
              createCustomValue
              onChange={(selected) => update({ fields: selected.map((option) => option.value) })}
            />
          </InlineField>
          <InlineField label="Series per key" labelWidth={16}>
            <InlineSwitch
              id="query-editor-group-by"
              value={query.groupBy === 'key'}
              onChange={(event) => update({ groupBy: event.currentTarget.checked ? 'key' : undefined })}
            />
          </InlineField>
          <FiltersEditor
            filters={query.filters ?? []}
            onChange={(filters, run) => update({ filters: filters.length > 0 ? filters : undefined }, run)}
            onRunQuery={onRunQuery}
          />
        </Stack>
      ) : (
        <Stack gap={1} wrap="wrap">
          <InlineField label="Dashboard" labelWidth={12}>
            <Combobox<string>
              id="query-editor-dashboard"
              aria-label="Dashboard"
              width={28}
              options={dashboards}
              value={query.dashboard ?? null}
              onChange={(option) => update({ dashboard: option.value, panel: undefined }, false)}
            />
          </InlineField>
          <InlineField label="Panel" labelWidth={12}>
            <Combobox<string>
              id="query-editor-panel"
              aria-label="Panel"
              width={36}
              options={panels}
              value={query.panel ?? null}
              onChange={(option) => update({ panel: option.value })}
            />
          </InlineField>
          <InlineField label="Format" labelWidth={12}>
            <RadioButtonGroup<PanelFormat>
              options={FORMATS}
              value={query.format ?? 'time_series'}
              onChange={(value) => update({ format: value })}
            />
          </InlineField>
          <InlineField
            label="Series"
            labelWidth={12}
            tooltip="Keep only these series (labels, several with commas, or a variable such as $tenant); empty: all"
          >
            <Input
              id="query-editor-series"
              width={24}
              value={query.filters?.find((filter) => filter.field === 'label')?.value ?? ''}
              placeholder="all"
              onChange={(event) => {
                const value = event.currentTarget.value;
                update({ filters: value.trim() === '' ? undefined : [{ field: 'label', value }] }, false);
              }}
              onBlur={onRunQuery}
            />
          </InlineField>
        </Stack>
      )}
      <Stack gap={1} wrap="wrap">
        <InlineField label="Alias" labelWidth={12}>
          <Input
            id="query-editor-alias"
            width={24}
            value={query.alias ?? ''}
            onChange={(event) => update({ alias: event.currentTarget.value || undefined }, false)}
            onBlur={onRunQuery}
          />
        </InlineField>
        {numberField('Buffer', 'query-editor-buffer', "Rows kept; default: the panel's max data points", 'bufferSize')}
        {numberField('Window (s)', 'query-editor-window', 'Keep only rows this recent', 'windowSeconds')}
        {numberField(
          'Stale after (s)',
          'query-editor-stale',
          'Warn on the panel when its newest data is older than this (default 60; dashboards: three updates)',
          'staleAfterSeconds'
        )}
      </Stack>
    </Stack>
  );
}
