// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');
const scaffold = require('./.config/jest.config');

// @grafana/* 13 pulls in ES-module-only packages beyond the scaffold's list (d3's .mjs files, @react-hookz/web,
// @ver0/deep-equal): they are transformed with the scaffold's own swc settings.
const [swcPattern, swcTransform] = Object.entries(scaffold.transform)[0];

module.exports = {
  ...scaffold,
  transform: { [swcPattern]: swcTransform, '^.+\\.mjs$': swcTransform },
  transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, '@react-hookz/web', '@ver0/deep-equal'])],
  testTimeout: 30000,
};
