import React from 'react';
import { render, screen, fireEvent } from '@testing-library/react';
import type { DataSourceSettings } from '@grafana/data';
import type { DataStreamingOptions, DataStreamingSecureJsonData } from '../types';
import { ConfigEditor } from './ConfigEditor';

const options = (jsonData: DataStreamingOptions = {}, configured = false) =>
  ({
    jsonData,
    secureJsonFields: { apiKey: configured },
    secureJsonData: {},
    url: '',
  }) as unknown as DataSourceSettings<DataStreamingOptions, DataStreamingSecureJsonData>;

describe('ConfigEditor', () => {
  it('offers proxy access with a secret API key by default', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(screen.getByPlaceholderText('http://127.0.0.1:9102'), {
      target: { value: 'http://127.0.0.1:9102' },
    });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ url: 'http://127.0.0.1:9102', jsonData: { url: 'http://127.0.0.1:9102' } })
    );
    fireEvent.change(screen.getByPlaceholderText('An API key of the service (DATA_STREAMING_API_KEYS)'), {
      target: { value: 'k-123' },
    });
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ secureJsonData: { apiKey: 'k-123' } }));
  });

  it('shows a configured key as configured and resets it', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options({}, true)} onOptionsChange={onOptionsChange} />);
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ secureJsonFields: { apiKey: false }, secureJsonData: { apiKey: '' } })
    );
  });

  it('offers a read token in direct access', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options({ accessMode: 'direct' })} onOptionsChange={onOptionsChange} />);
    fireEvent.change(document.getElementById('config-editor-read-token') as HTMLInputElement, {
      target: { value: 'reader' },
    });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: { accessMode: 'direct', readToken: 'reader' } })
    );
    fireEvent.click(screen.getByRole('radio', { name: 'Through Grafana (API key)' }));
    expect(onOptionsChange).toHaveBeenLastCalledWith(expect.objectContaining({ jsonData: { accessMode: 'proxy' } }));
  });

  it('keeps streams for the seconds given after their last panel', () => {
    const onOptionsChange = jest.fn();
    render(<ConfigEditor options={options()} onOptionsChange={onOptionsChange} />);
    fireEvent.change(document.getElementById('config-editor-keep-streams') as HTMLInputElement, {
      target: { value: '120' },
    });
    expect(onOptionsChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ jsonData: { keepStreamsSeconds: 120 } })
    );
  });
});
