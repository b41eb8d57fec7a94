import React from 'react';
import { render, screen, fireEvent, waitFor } from '@testing-library/react';
import type { DataSource } from '../datasource';
import type { DataStreamingQuery } from '../types';
import { QueryEditor } from './QueryEditor';

/** The editor's view of the data source: what it asks the service for. The service itself is tested elsewhere. */
const datasource = {
  channels: jest.fn(async () => ['metrics_updates', 'system_alerts']),
  fields: jest.fn(async () => ['error_rate', 'latency_ms.p95']),
  metricFindQuery: jest.fn(async (query: string) =>
    query === 'dashboards()'
      ? [{ text: 'System health', value: 'system_health' }]
      : [{ text: 'GPU utilisation', value: 'gpu_utilization' }]
  ),
} as unknown as DataSource;

function setup(query: DataStreamingQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const view = render(
    <QueryEditor query={query} onChange={onChange} onRunQuery={onRunQuery} datasource={datasource} />
  );
  return { onChange, onRunQuery, view };
}

describe('QueryEditor', () => {
  beforeEach(() => jest.clearAllMocks());

  it('loads the channels and the fields of the chosen channel from the service', async () => {
    setup({ refId: 'A', queryType: 'stream', channel: 'metrics_updates' });
    await waitFor(() => expect(datasource.channels).toHaveBeenCalled());
    await waitFor(() => expect(datasource.fields).toHaveBeenCalledWith('metrics_updates', undefined));
    expect(screen.getByRole('combobox', { name: 'Channel' })).toHaveValue('metrics_updates');
  });

  it('updates the query immutably and runs it', async () => {
    const query: DataStreamingQuery = { refId: 'A', queryType: 'stream', channel: 'metrics_updates' };
    const { onChange, onRunQuery } = setup(query);
    fireEvent.click(screen.getByRole('switch'));
    expect(onChange).toHaveBeenLastCalledWith({ ...query, groupBy: 'key' });
    expect(onRunQuery).toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('Alias', { selector: 'input' }), { target: { value: 'p95' } });
    expect(onChange).toHaveBeenLastCalledWith({ ...query, alias: 'p95' });
    fireEvent.change(document.getElementById('query-editor-buffer') as HTMLInputElement, { target: { value: '250' } });
    expect(onChange).toHaveBeenLastCalledWith({ ...query, bufferSize: 250 });
    expect(query).toEqual({ refId: 'A', queryType: 'stream', channel: 'metrics_updates' });
    await waitFor(() => expect(datasource.fields).toHaveBeenCalled());
  });

  it('switches to a dashboard panel query and lists dashboards and panels', async () => {
    const { onChange } = setup({ refId: 'A', queryType: 'dashboard', dashboard: 'system_health' });
    await waitFor(() => expect(datasource.metricFindQuery).toHaveBeenCalledWith('dashboards()'));
    await waitFor(() => expect(datasource.metricFindQuery).toHaveBeenCalledWith('panels(system_health)'));
    expect(screen.getByRole('combobox', { name: 'Dashboard' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('radio', { name: 'Channel' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'stream', dashboard: 'system_health' });
  });

  it('edits filters as rows of field and value, a variable or several values allowed', () => {
    const query: DataStreamingQuery = { refId: 'A', queryType: 'stream', channel: 'metrics_updates' };
    const { onChange, onRunQuery, view } = setup(query);
    fireEvent.click(screen.getByRole('button', { name: 'Add filter' }));
    expect(onChange).toHaveBeenLastCalledWith({ ...query, filters: [{ field: '', value: '' }] });
    view.rerender(
      <QueryEditor
        query={{ ...query, filters: [{ field: 'model', value: '' }] }}
        onChange={onChange}
        onRunQuery={onRunQuery}
        datasource={datasource}
      />
    );
    fireEvent.change(screen.getByLabelText('Filter 1 value'), { target: { value: '$model' } });
    expect(onChange).toHaveBeenLastCalledWith({ ...query, filters: [{ field: 'model', value: '$model' }] });
    fireEvent.click(screen.getByRole('button', { name: 'Remove filter 1' }));
    expect(onChange).toHaveBeenLastCalledWith({ ...query, filters: undefined });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it("chooses a dashboard panel's format and series", async () => {
    const query: DataStreamingQuery = { refId: 'A', queryType: 'dashboard', dashboard: 'system_health', panel: 'p' };
    const { onChange } = setup(query);
    fireEvent.click(screen.getByRole('radio', { name: 'Table' }));
    expect(onChange).toHaveBeenLastCalledWith({ ...query, format: 'table' });
    fireEvent.change(document.getElementById('query-editor-series') as HTMLInputElement, {
      target: { value: '$node' },
    });
    expect(onChange).toHaveBeenLastCalledWith({ ...query, filters: [{ field: 'label', value: '$node' }] });
    await waitFor(() => expect(datasource.metricFindQuery).toHaveBeenCalled());
  });
});
