#!/usr/bin/env node
// The supported Grafana range, checked with @grafana/levitate (Grafana's API compatibility checker) from a
// standalone install of the plugin: in the hoisted workspace levitate finds no @grafana package installed beside the
// plugin, skips every one and reports a false pass, so the plugin's sources and its @grafana dependencies (the
// versions it builds against) are installed on their own in a temporary folder (the workspace packages it uses as
// packed tarballs), and levitate compares what src/module.ts imports against the lowest supported Grafana and the
// newest the plugin is checked with. Then it is shown to fail: a module importing MultiCombobox, which @grafana/ui
// 11.5 does not export, must be reported incompatible. Exits non-zero when any of that does not hold.
// Part of `npm run check -w grafana-plugin`. Needs the npm registry.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PLUGIN = resolve(fileURLToPath(import.meta.url), '../..');
const ROOT = resolve(PLUGIN, '..');
const LEVITATE = '@grafana/levitate@0.17.2';
const PACKAGES = ['@grafana/data', '@grafana/ui', '@grafana/runtime'];
const plugin = JSON.parse(readFileSync(join(PLUGIN, 'src/plugin.json'), 'utf8'));
/** The lowest supported Grafana: plugin.json's grafanaDependency (">=12.3.0"). */
const LOWEST = /^>=\s*(\d+\.\d+\.\d+)$/.exec(plugin.dependencies.grafanaDependency)?.[1];
/** The newest Grafana the plugin is checked with (raised deliberately, with the README's statement). */
const NEWEST = '13.2.3';
if (!LOWEST) {
  throw new Error(`grafanaDependency "${plugin.dependencies.grafanaDependency}" is not ">=x.y.z"`);
}

function run(command, args, cwd, { allowFailure = false } = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 && !allowFailure) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${output}`);
  }
  return { status: result.status, output };
}

const dir = mkdtempSync(join(tmpdir(), 'levitate-'));
try {
  // The plugin as its own package: its sources, its config, its @grafana dependencies at the versions it builds with.
  const pkg = JSON.parse(readFileSync(join(PLUGIN, 'package.json'), 'utf8'));
  cpSync(join(PLUGIN, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(PLUGIN, '.config'), join(dir, '.config'), { recursive: true });
  cpSync(join(PLUGIN, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  cpSync(join(PLUGIN, '.levignore.js'), join(dir, '.levignore.js'));
  const tarballs = {};
  for (const workspace of ['packages/protocol', 'packages/client']) {
    const packed = run('npm', ['pack', '--silent', '--pack-destination', dir], join(ROOT, workspace))
      .output.trim()
      .split('\n')
      .at(-1);
    const name = JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')).name;
    tarballs[name] = `file:./${packed}`;
  }
  const dependencies = Object.fromEntries(
    Object.entries(pkg.dependencies).map(([name, version]) => [name, tarballs[name] ?? version])
  );
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: 'levitate-check',
        private: true,
        dependencies,
        devDependencies: {
          '@grafana/tsconfig': pkg.devDependencies['@grafana/tsconfig'],
          [LEVITATE.replace(/@[^@]+$/, '')]: LEVITATE.split('@').at(-1),
        },
        overrides: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).overrides ?? {},
      },
      null,
      2
    )
  );
  process.stdout.write(`levitate: installing the plugin's dependencies on their own in ${dir}\n`);
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], dir);
  const installed = JSON.parse(readFileSync(join(dir, 'node_modules/@grafana/data/package.json'), 'utf8')).version;

  const check = (path, version, expectCompatible) => {
    const target = PACKAGES.map((name) => `${name}@${version}`).join(',');
    const { status, output } = run(
      'npx',
      ['--no-install', 'levitate', 'is-compatible', '--path', path, '--target', target],
      dir,
      {
        allowFailure: true,
      }
    );
    if (/Skipping package/i.test(output)) {
      throw new Error(`levitate skipped a package, so its answer means nothing:\n${output}`);
    }
    const compatible = status === 0;
    process.stdout.write(
      `levitate: ${path} against ${version} (installed ${installed}): ${compatible ? 'compatible' : 'incompatible'}\n`
    );
    if (compatible !== expectCompatible) {
      throw new Error(
        `levitate: ${path} against ${version}: expected ${expectCompatible ? 'compatible' : 'incompatible'}:\n${output}`
      );
    }
    return output;
  };
  check('src/module.ts', LOWEST, true);
  check('src/module.ts', NEWEST, true);
  // Shown to fail: MultiCombobox first appeared in @grafana/ui 11.6.
  mkdirSync(join(dir, 'fixture'));
  writeFileSync(
    join(dir, 'fixture/module.ts'),
    "import { MultiCombobox } from '@grafana/ui';\nexport const editor = MultiCombobox;\n"
  );
  const output = check('fixture/module.ts', '11.5.0', false);
  if (!/MultiCombobox/.test(output)) {
    throw new Error(`levitate did not name MultiCombobox:\n${output}`);
  }
  const latest = run('npm', ['view', '@grafana/data', 'version'], dir, { allowFailure: true }).output.trim();
  if (latest && latest !== NEWEST) {
    process.stdout.write(`levitate: note: @grafana/data ${latest} is out; the plugin is checked up to ${NEWEST}\n`);
  }
  process.stdout.write(
    `levitate: the plugin is compatible with Grafana ${LOWEST} to ${NEWEST}, and the check fails when it should\n`
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
