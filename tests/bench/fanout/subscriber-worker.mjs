// One load-generator process: opens `count` WebSocket or SSE subscribers to a target, records publish→receipt
// latency of every message it gets, and reports to the orchestrator over IPC. Loopback only; every loop bounded.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { constants, createGunzip, inflateRawSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(resolve(dirname(fileURLToPath(import.meta.url)), '../../../backend/package.json'));
const { WebSocket } = require('ws');

const now = () => performance.timeOrigin + performance.now();
const options = JSON.parse(process.argv[2]);
process.on('uncaughtException', (error) => {
  process.stderr.write(`subscriber worker: ${error.stack ?? error}\n`);
  process.exit(70);
});
const latencies = [];
let received = 0;
let refused = 0;
let connected = 0;
let closedEarly = 0;
const sockets = [];
let measuring = false;
/** Bytes read from the network while measuring (compressed, when compression was negotiated). */
let wireBytes = 0;
const wireAt = new Map();
const bytesRead = (socket) =>
  (typeof socket.terminate === 'function' ? socket._socket?.bytesRead : (socket.socket?.bytesRead ?? socket.bytesRead)) ?? 0;

/**
 * Counts the payloads in one frame or SSE data block and records their latency. Every target carries the publisher's
 * payload `{"s":…,"t":<send time>,"p":…}` verbatim (alone, in an event envelope or in a batch), and nothing else in
 * these frames has a `"t":` key, so a scan for it finds each payload without parsing the JSON: the generator's own
 * work per message is the same for every target and small next to the server's.
 */
function record(text) {
  const at = now();
  let index = text.indexOf('"t":');
  while (index >= 0) {
    const sent = Number.parseFloat(text.slice(index + 4, index + 32));
    if (Number.isFinite(sent)) {
      received++;
      if (measuring && latencies.length < 5_000_000) latencies.push(at - sent);
    }
    index = text.indexOf('"t":', index + 4);
  }
}

const TAIL = Buffer.from([0, 0, 0xff, 0xff]);
const WINDOW = 32_768;

/**
 * A WebSocket subscriber that offers what `ws` and browsers offer (permessage-deflate; client_max_window_bits) and
 * inflates each message synchronously on arrival, as a browser does on its own connection; `ws` would queue the
 * inflation of all sockets of this process through the thread pool, and the generator, not the server, would set
 * the latency. The last 32 KB of output is the next message's dictionary, which is what context takeover means, so
 * servers that keep a context per socket (the ws floor) decode too; a server that answers server_no_context_takeover
 * needs no dictionary, and a client keeps none (as browsers reset their inflater then). Reads frames only; answers
 * pings.
 */
function openDeflateSocket() {
  return new Promise((done) => {
    const url = new URL(options.url);
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      },
    });
    req.on('response', (response) => {
      response.resume();
      refused++;
      done();
    });
    req.on('error', () => {
      refused++;
      done();
    });
    req.on('upgrade', (response, socket, head) => {
      connected++;
      done();
      const negotiated = response.headers['sec-websocket-extensions'] ?? '';
      const deflate = /permessage-deflate/.test(negotiated);
      const takeover = !/server_no_context_takeover/.test(negotiated);
      let buffer = head;
      let window = Buffer.alloc(0);
      let fragments = [];
      let compressed = false;
      socket.on('data', (chunk) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        for (;;) {
          if (buffer.length < 2) return;
          const first = buffer[0];
          let length = buffer[1] & 0x7f;
          let offset = 2;
          if (length === 126) {
            if (buffer.length < 4) return;
            length = buffer.readUInt16BE(2);
            offset = 4;
          } else if (length === 127) {
            if (buffer.length < 10) return;
            length = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          if (buffer.length < offset + length) return;
          const payload = buffer.subarray(offset, offset + length);
          buffer = buffer.subarray(offset + length);
          const opcode = first & 0x0f;
          if (opcode === 9) {
            socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length]), Buffer.alloc(4), payload]));
            continue;
          }
          if (opcode === 8) {
            socket.end();
            return;
          }
          if (opcode === 1 || opcode === 2) {
            fragments = [payload];
            compressed = (first & 0x40) !== 0;
          } else if (opcode === 0) fragments.push(payload);
          else continue;
          if ((first & 0x80) === 0) continue;
          let data = fragments.length === 1 ? fragments[0] : Buffer.concat(fragments);
          if (compressed && deflate) {
            data = inflateRawSync(Buffer.concat([data, TAIL]), {
              finishFlush: constants.Z_SYNC_FLUSH,
              ...(window.length ? { dictionary: window } : {}),
            });
            if (takeover) {
              window = Buffer.concat([window, data]);
              if (window.length > WINDOW) window = window.subarray(window.length - WINDOW);
            }
          }
          record(data.toString());
        }
      });
      socket.on('close', () => {
        if (!stopping) closedEarly++;
      });
      socket.on('error', () => undefined);
      sockets.push(socket);
    });
    req.end();
  });
}

function openWebSocket() {
  return new Promise((done) => {
    const socket = new WebSocket(options.url, { perMessageDeflate: false, handshakeTimeout: 20_000 });
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      if (ok) connected++;
      else refused++;
      done();
    };
    socket.on('open', () => settle(true));
    socket.on('unexpected-response', (_request, response) => {
      response.resume();
      settle(false);
    });
    socket.on('error', () => settle(false));
    socket.on('message', (data) => record(String(data)));
    socket.on('close', () => {
      if (settled && connected > 0 && !stopping) closedEarly++;
    });
    sockets.push(socket);
  });
}

function openEventSource() {
  return new Promise((done) => {
    const headers = { accept: 'text/event-stream', ...(options.compression ? { 'accept-encoding': 'gzip' } : {}) };
    const req = request(options.url, { headers, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        refused++;
        response.resume();
        done();
        return;
      }
      connected++;
      done();
      const body = response.headers['content-encoding'] === 'gzip' ? response.pipe(createGunzip()) : response;
      if (options.compression && body === response) process.stderr.write('subscriber worker: SSE answered without gzip\n');
      body.setEncoding('utf8');
      let buffer = '';
      body.on('data', (chunk) => {
        buffer += chunk;
        // Only complete events (up to the last blank line) are scanned; the rest waits for the next chunk.
        const end = buffer.lastIndexOf('\n\n');
        if (end < 0) return;
        record(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      });
      response.on('close', () => {
        if (!stopping) closedEarly++;
      });
    });
    req.on('error', () => {
      refused++;
      done();
    });
    req.end();
    sockets.push(req);
  });
}

let stopping = false;
const open = options.transport === 'sse' ? openEventSource : options.compression ? openDeflateSocket : openWebSocket;
for (let start = 0; start < options.count; start += 100) {
  await Promise.all(Array.from({ length: Math.min(100, options.count - start) }, () => open()));
}
process.send({ type: 'connected', connected, refused });

process.on('message', (message) => {
  if (message.type === 'measure') {
    measuring = true;
    received = 0;
    for (const socket of sockets) wireAt.set(socket, bytesRead(socket));
  }
  if (message.type === 'stop') {
    stopping = true;
    measuring = false;
    for (const socket of sockets) wireBytes += bytesRead(socket) - (wireAt.get(socket) ?? 0);
    const values = Float64Array.from(latencies);
    for (const socket of sockets) {
      if (typeof socket.terminate === 'function') socket.terminate();
      else socket.destroy();
    }
    // Exit only once the (large) result has left: an exit right after send can lose it.
    process.send(
      { type: 'result', received, refused, connected, closedEarly, wireBytes, latencies: Buffer.from(values.buffer).toString('base64') },
      () => process.exit(0),
    );
  }
});
