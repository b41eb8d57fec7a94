import React from 'react';
import { InlineField, Input, RadioButtonGroup, SecretInput, Stack } from '@grafana/ui';
import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import { AccessMode, DataStreamingOptions, DataStreamingSecureJsonData } from '../types';

type Props = DataSourcePluginOptionsEditorProps<DataStreamingOptions, DataStreamingSecureJsonData>;

const ACCESS: Array<SelectableValue<AccessMode>> = [
  {
    label: 'Through Grafana (API key)',
    value: 'proxy',
    description: 'Grafana adds the API key; browsers never see it',
  },
  { label: 'Direct (read token)', value: 'direct', description: 'Browsers call the service with a read-only token' },
];

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const { jsonData, secureJsonFields, secureJsonData } = options;
  const accessMode = jsonData.accessMode ?? 'proxy';
  const setJsonData = (patch: Partial<DataStreamingOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  return (
    <Stack direction="column" gap={1}>
      <InlineField label="URL" labelWidth={16} tooltip="The data-streaming-api service, e.g. http://127.0.0.1:9102">
        <Input
          id="config-editor-url"
          width={40}
          placeholder="http://127.0.0.1:9102"
          value={jsonData.url ?? ''}
          onChange={(event) => {
            const url = event.currentTarget.value;
            onOptionsChange({ ...options, url, jsonData: { ...jsonData, url } });
          }}
        />
      </InlineField>
      <InlineField label="Access" labelWidth={16}>
        <RadioButtonGroup<AccessMode>
          options={ACCESS}
          value={accessMode}
          onChange={(value) => setJsonData({ accessMode: value })}
        />
      </InlineField>
      {accessMode === 'proxy' ? (
        <InlineField
          label="API key"
          labelWidth={16}
          tooltip="Kept encrypted by Grafana and added by its proxy to every request"
        >
          <SecretInput
            id="config-editor-api-key"
            width={40}
            isConfigured={Boolean(secureJsonFields?.apiKey)}
            value={secureJsonData?.apiKey ?? ''}
            placeholder="An API key of the service (DATA_STREAMING_API_KEYS)"
            onReset={() =>
              onOptionsChange({
                ...options,
                secureJsonFields: { ...secureJsonFields, apiKey: false },
                secureJsonData: { ...secureJsonData, apiKey: '' },
              })
            }
            onChange={(event) =>
              onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, apiKey: event.currentTarget.value } })
            }
          />
        </InlineField>
      ) : (
        <InlineField label="Read token" labelWidth={16} tooltip="Sent by browsers: give it read access only">
          <Input
            id="config-editor-read-token"
            width={40}
            value={jsonData.readToken ?? ''}
            onChange={(event) => setJsonData({ readToken: event.currentTarget.value || undefined })}
          />
        </InlineField>
      )}
      <InlineField
        label="Keep streams (s)"
        labelWidth={16}
        tooltip="How long a panel's stream and its rows are kept after the panel leaves (a refresh, another dashboard): at least 5, default 30"
      >
        <Input
          id="config-editor-keep-streams"
          type="number"
          min={5}
          width={12}
          placeholder="30"
          value={jsonData.keepStreamsSeconds ?? ''}
          onChange={(event) => {
            const text = event.currentTarget.value.trim();
            const seconds = Number(text);
            setJsonData({ keepStreamsSeconds: text === '' || !Number.isFinite(seconds) ? undefined : seconds });
          }}
        />
      </InlineField>
    </Stack>
  );
}
