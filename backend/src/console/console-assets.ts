/**
 * Serves the browser console (packages/console, built by its `prepare`): `/` and every deep link under `/console/`
 * answer its index.html; `/console/assets/<name>-<hash>.<ext>` its content-hashed files, cached for a year as
 * immutable, sent as Brotli or gzip when the browser takes them (compressed once, at build time). Every answer
 * carries a strict Content-Security-Policy: no inline script or style, nothing from another origin. The files are
 * read once at start: a console that is enabled but not built stops the start with the path and the key to set.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ApiError } from '../common/api-error';
import { sendApiError } from '../common/raw-response';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  svg: 'image/svg+xml',
  woff2: 'font/woff2',
};

interface Asset {
  type: string;
  identity: Buffer;
  gzip: Buffer | undefined;
  brotli: Buffer | undefined;
}

const ASSET_PATH = /^\/console\/assets\/([A-Za-z0-9_.-]+)$/;

export class ConsoleAssets {
  private readonly index: Buffer;
  private readonly assets = new Map<string, Asset>();

  constructor(distDir: string) {
    const indexPath = join(distDir, 'index.html');
    if (!existsSync(indexPath)) {
      throw new Error(
        `console.enabled is true but the console is not built (no ${indexPath}): run \`npm run build -w packages/console\`, or set DATA_STREAMING_CONSOLE_ENABLED=false`,
      );
    }
    this.index = readFileSync(indexPath);
    const assetsDir = join(distDir, 'assets');
    for (const name of readdirSync(assetsDir)) {
      if (name.endsWith('.gz') || name.endsWith('.br')) continue;
      const extension = name.slice(name.lastIndexOf('.') + 1);
      const read = (suffix: string) =>
        existsSync(join(assetsDir, name + suffix)) ? readFileSync(join(assetsDir, name + suffix)) : undefined;
      this.assets.set(name, {
        type: TYPES[extension] ?? 'application/octet-stream',
        identity: readFileSync(join(assetsDir, name)),
        gzip: read('.gz'),
        brotli: read('.br'),
      });
    }
  }

  /** Answers the request if it is the console's; false to let the API have it. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const method = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    const path = (request.url ?? '/').split('?', 1)[0] as string;
    if (path !== '/' && path !== '/console' && !path.startsWith('/console/')) return false;
    const headers = {
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    };
    const asset = ASSET_PATH.exec(path);
    if (path.startsWith('/console/assets/')) {
      const found = asset ? this.assets.get(asset[1] as string) : undefined;
      if (!found) {
        sendApiError(response, ApiError.notFound('not_found', `no console asset at ${path.slice(0, 100)}`));
        return true;
      }
      const accepted = request.headers['accept-encoding'] ?? '';
      const [encoding, body] =
        found.brotli && /\bbr\b/.test(accepted)
          ? ['br', found.brotli]
          : found.gzip && /\bgzip\b/.test(accepted)
            ? ['gzip', found.gzip]
            : [undefined, found.identity];
      response.writeHead(200, {
        ...headers,
        'Content-Type': found.type,
        'Content-Length': body.length,
        'Cache-Control': 'public, max-age=31536000, immutable',
        Vary: 'Accept-Encoding',
        ...(encoding ? { 'Content-Encoding': encoding } : {}),
      });
      response.end(method === 'HEAD' ? undefined : body);
      return true;
    }
    response.writeHead(200, {
      ...headers,
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': this.index.length,
      // The page names its hashed assets: always ask again, so a new build is picked up at once.
      'Cache-Control': 'no-cache',
    });
    response.end(method === 'HEAD' ? undefined : this.index);
    return true;
  }
}
