// One load-generator process: opens `count` WebSocket or SSE subscribers to a target, records publish→receipt
// latency of every message it gets, and reports to the orchestrator over IPC. Loopback only; every loop bounded.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { Gunzip, InflateRaw, constants, deflateRawSync } from 'node:zlib';
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

/**
 * A decompressor that lives as long as its connection and inflates each piece synchronously, as a browser does on
 * a machine of its own: one zlib stream per connection, driven through its native handle (Node's public API has
 * either a new stream per call, which costs twice as much for a 2 KB message, or thread-pool jobs, which queue every
 * connection of this process behind each other, so the generator rather than the server would set the latency).
 * One stream per connection decodes both kinds of server: one that keeps its context (each message may refer to the
 * ones before, which the stream remembers) and one that starts afresh per message (nothing refers back). The
 * inflater takes its input in parts (a frame's payload, then the tail it lacks) and answers a view into its own
 * output buffer, valid until its next call, so a message costs no allocation but its text.
 */
function syncInflater(stream) {
  const handle = stream._handle;
  const state = stream._writeState;
  if (typeof handle?.writeSync !== 'function' || !state) throw new Error("this Node's zlib has no synchronous handle");
  const out = Buffer.allocUnsafe(65_536);
  let pieces = [];
  let produced = 0;
  const feed = (input) => {
    let offset = 0;
    let available = input.length;
    for (;;) {
      handle.writeSync(constants.Z_SYNC_FLUSH, input, offset, available, out, produced, out.length - produced);
      const [outLeft, inLeft] = state;
      produced = out.length - outLeft;
      offset += available - inLeft;
      available = inLeft;
      // A full output buffer may hide more output: keep a copy and go on; otherwise the input is used up.
      if (outLeft !== 0) break;
      pieces.push(Buffer.from(out));
      produced = 0;
    }
  };
  return (...inputs) => {
    pieces = [];
    produced = 0;
    for (const input of inputs) feed(input);
    return pieces.length === 0 ? out.subarray(0, produced) : Buffer.concat([...pieces, out.subarray(0, produced)]);
  };
}

/**
 * With `inflateAlike` (uncompressed scenarios run with --client-inflate), each message received also costs the
 * inflation of a 2 KB message of dashboard text, as it does for a subscriber of the compressed twin.
 */
const inflateAlike = (() => {
  if (!options.inflateAlike) return () => undefined;
  const text = Array.from({ length: 200 }, (_, index) => `gpu-node=${(index * 7919) % 1000} latency_ms=${index * 3} `).join('');
  const segment = deflateRawSync(Buffer.from(text.slice(0, 2048)), { level: 1, finishFlush: constants.Z_SYNC_FLUSH });
  const inflate = syncInflater(new InflateRaw());
  return () => inflate(segment);
})();

/**
 * A WebSocket subscriber that offers what `ws` and browsers offer (permessage-deflate; client_max_window_bits) and
 * inflates each message on arrival with its connection's own inflater. Reads frames only; answers pings.
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
      const inflate = /permessage-deflate/.test(negotiated) ? syncInflater(new InflateRaw()) : undefined;
      let buffer = head;
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
          const data = fragments.length === 1 ? fragments[0] : Buffer.concat(fragments);
          record(compressed && inflate ? inflate(data, TAIL).toString() : data.toString());
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
    socket.on('message', (data) => {
      inflateAlike();
      record(String(data));
    });
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
      const gunzip = response.headers['content-encoding'] === 'gzip' ? syncInflater(new Gunzip()) : undefined;
      if (options.compression && !gunzip) process.stderr.write('subscriber worker: SSE answered without gzip\n');
      const decoder = new StringDecoder('utf8');
      let buffer = '';
      response.on('data', (chunk) => {
        if (!gunzip) inflateAlike();
        buffer += decoder.write(gunzip ? gunzip(chunk) : chunk);
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
