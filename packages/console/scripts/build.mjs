#!/usr/bin/env node
// Builds the console: src/main.ts (TypeScript, with uPlot and its CSS) bundled and minified by esbuild into
// dist/assets/ under content-hashed names, dist/index.html pointing at them (no inline script or style, so the
// service's Content-Security-Policy needs no 'unsafe-inline'), and a gzip and a Brotli copy of every asset for the
// service to send as they are. Prints the weight against the budget of issue 16 (150 KB gzipped, JavaScript and CSS)
// and exits 1 above it. Usage: node scripts/build.mjs
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const BUDGET = 150 * 1024;
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(root, 'src/main.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// The console uses the protocol's types and its zod-free vocabulary: the schemas (zod, ~90 KB gzipped) stay out.
const schemas = Object.keys(result.metafile.inputs).filter((path) => /node_modules\/zod\//.test(path));
if (schemas.length > 0)
  throw new Error(`zod is in the bundle (import from @data-streaming/protocol/vocabulary or import type): ${schemas[0]}`);

const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith('.js'));
const style = outputs.find((name) => name.endsWith('.css'));
if (!script || !style) throw new Error(`the build made no script or no style: ${outputs.join(', ')}`);
const html = readFileSync(join(root, 'src/index.html'), 'utf8')
  .replace('%SCRIPT%', `/console/assets/${script}`)
  .replace('%STYLE%', `/console/assets/${style}`);
writeFileSync(join(dist, 'index.html'), html);

let gzipped = 0;
for (const name of readdirSync(join(dist, 'assets'))) {
  const path = join(dist, 'assets', name);
  const content = readFileSync(path);
  const gz = gzipSync(content, { level: 9 });
  writeFileSync(`${path}.gz`, gz);
  writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  if (/\.(js|css)$/.test(name)) gzipped += gz.length;
}
process.stdout.write(`@data-streaming/console: ${script}, ${style}: ${gzipped} bytes gzipped (budget ${BUDGET})\n`);
process.exitCode = gzipped <= BUDGET ? 0 : 1;
