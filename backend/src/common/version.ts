/** The service's version, from its package.json (dist/common → the package root, as src/common in tests). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SERVICE_VERSION = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
