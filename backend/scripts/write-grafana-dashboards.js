// Writes provisioning/grafana/dashboards/*.json from the service's definitions (after a build:
// npm run grafana-dashboards -w backend). A test fails when the committed files differ from this output.
const { mkdirSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { loadConfig } = require('../dist/config/config.loader.js');
const { loadDashboards } = require('../dist/dashboards/dashboard-definitions.js');
const { grafanaDashboards } = require('../dist/dashboards/grafana/grafana-dashboards.js');

const config = loadConfig({ env: {} });
const dir = resolve(__dirname, '../../provisioning/grafana/dashboards');
mkdirSync(dir, { recursive: true });
for (const file of readdirSync(dir)) if (file.endsWith('.json')) rmSync(join(dir, file));
for (const [file, dashboard] of grafanaDashboards(config, loadDashboards(config))) {
  writeFileSync(join(dir, file), `${JSON.stringify(dashboard, null, 2)}\n`);
}
