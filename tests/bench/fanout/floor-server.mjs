// The floor of Node.js itself: a minimal broadcast server. POST /pub sends the body as-is to every WebSocket
// (/sub) and SSE (/sse) subscriber. With the argument `compress`, it compresses the way a plain `ws` server does:
// permessage-deflate per socket (ws' defaults), and a gzip stream per SSE response, flushed per event. Loopback only.
import { createServer } from 'node:http';
import { constants, createGzip } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(resolve(dirname(fileURLToPath(import.meta.url)), '../../../backend/package.json'));
const { WebSocketServer } = require('ws');

const compress = process.argv[3] === 'compress';
const streams = new Set();
const server = createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/pub') {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      for (const client of wss.clients) client.send(body, { binary: false });
      const event = Buffer.concat([Buffer.from('data: '), body, Buffer.from('\n\n')]);
      for (const stream of streams) {
        stream.write(event);
        stream.flush?.(constants.Z_SYNC_FLUSH);
      }
      response.writeHead(202).end();
    });
    return;
  }
  if (request.method === 'GET' && request.url === '/sse') {
    const gzip = compress && /gzip/.test(request.headers['accept-encoding'] ?? '');
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    response.flushHeaders();
    const stream = gzip ? createGzip({ level: 1 }) : response;
    if (gzip) stream.pipe(response);
    streams.add(stream);
    response.on('close', () => streams.delete(stream));
    return;
  }
  response.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: '/sub', perMessageDeflate: compress });
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.send?.('ready'));
