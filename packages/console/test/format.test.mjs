// Units as Grafana formats them (the units of config/dashboards/). format.ts is TypeScript: esbuild compiles it for
// the test, as it does for the console.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';

const { outputFiles } = await build({
  entryPoints: [new URL('../src/format.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  write: false,
  logLevel: 'silent',
});
const { age, formatValue, gaugeMax } = await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString('base64')}`);

test('formats every unit of the dashboard definitions as Grafana does', () => {
  const cases = [
    [42.123, 'percent', '42.1%'],
    [0.0734, 'percentunit', '7.34%'],
    [212, 'ms', '212 ms'],
    [1530, 'ms', '1.53 s'],
    [0.4, 'ms', '400 µs'],
    [1234.5, 'req/s', '1.23 K req/s'],
    [71.25, 'celsius', '71.3°C'],
    [612, 'watt', '612 W'],
    [1530, 'watt', '1.53 kW'],
    [18342, 'currencyUSD', '$18.3K'],
    [3, 'short', '3'],
    [3.14159, 'short', '3.14'],
    [2_500_000, 'short', '2.50 Mil'],
    [1536, 'bytes', '1.50 KiB'],
    [null, 'ms', 'No data'],
    [Number.NaN, 'percent', 'No data'],
  ];
  for (const [value, unit, text] of cases) assert.equal(formatValue(value, unit), text, `${value} ${unit}`);
});

test('says how long ago, and bounds a gauge by its unit', () => {
  assert.equal(age(0, 4_400), '4 s');
  assert.equal(age(0, 125_000), '2 min');
  assert.equal(gaugeMax('percent', 40), 100);
  assert.equal(gaugeMax('percentunit', 0.4), 1);
  assert.equal(gaugeMax('watt', 612), 1000);
});
