#!/usr/bin/env node
// The client's weight in a browser: its entry bundled (as an application would, minified, for browsers) and gzipped.
// Prints the size; exits 1 above the budget of issue 15 (15 KB gzipped). Usage: node scripts/bundle-size.mjs [--json]
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const BUDGET = 15 * 1024;
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const result = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'silent',
});
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ bytes: code.length, gzipped, budget: BUDGET })}\n`);
else process.stdout.write(`@data-streaming/client browser bundle: ${code.length} bytes, ${gzipped} gzipped (budget ${BUDGET})\n`);
process.exitCode = gzipped <= BUDGET ? 0 : 1;
