// One load-generator process: opens `count` WebSocket or SSE subscribers to a target, records publish→receipt
// latency of every message it gets, and reports to the orchestrator over IPC. Loopback only; every loop bounded.
import { request } from 'node:http';
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
    const req = request(options.url, { headers: { accept: 'text/event-stream' }, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        refused++;
        response.resume();
        done();
        return;
      }
      connected++;
      done();
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk) => {
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
const open = options.transport === 'sse' ? openEventSource : openWebSocket;
for (let start = 0; start < options.count; start += 100) {
  await Promise.all(Array.from({ length: Math.min(100, options.count - start) }, () => open()));
}
process.send({ type: 'connected', connected, refused });

process.on('message', (message) => {
  if (message.type === 'measure') {
    measuring = true;
    received = 0;
  }
  if (message.type === 'stop') {
    stopping = true;
    measuring = false;
    const values = Float64Array.from(latencies);
    for (const socket of sockets) {
      if (typeof socket.terminate === 'function') socket.terminate();
      else socket.destroy();
    }
    // Exit only once the (large) result has left: an exit right after send can lose it.
    process.send(
      { type: 'result', received, refused, connected, closedEarly, latencies: Buffer.from(values.buffer).toString('base64') },
      () => process.exit(0),
    );
  }
});
