#!/usr/bin/env node
// The floor under one broadcast: 1,000 loopback TCP sockets, read by another process, each sent one 220-byte
// message per round, timed per round: through `socket.write` (what every Node.js server does) and through a bare
// `fs.writeSync` on the socket's descriptor (the syscall alone, no stream machinery). Loopback only; 150 rounds of
// each, twice, 20 ms apart. Usage: node tests/bench/fanout/write-loop.mjs
import { fork } from 'node:child_process';
import { writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const SOCKETS = 1000;
const ROUNDS = 150;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

if (process.argv[2] === 'reader') {
  // The receiving side: reads everything, reports the byte count when asked.
  let bytes = 0;
  for (let index = 0; index < SOCKETS; index++) {
    connect(Number(process.argv[3]), '127.0.0.1').on('data', (chunk) => (bytes += chunk.length));
  }
  process.on('message', () => process.send(bytes, () => process.exit(0)));
} else {
  const sockets = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.push(socket);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const reader = fork(fileURLToPath(import.meta.url), ['reader', String(server.address().port)]);
  for (let waited = 0; sockets.length < SOCKETS && waited < 200; waited++) await sleep(50);
  if (sockets.length < SOCKETS) throw new Error(`only ${sockets.length} of ${SOCKETS} sockets connected`);
  const message = Buffer.alloc(220, 'x');
  const run = async (name, write) => {
    const times = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      for (const socket of sockets) write(socket);
      times.push(performance.now() - start);
      await sleep(20);
    }
    times.sort((a, b) => a - b);
    const pick = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
    console.log(`${name.padEnd(13)} loop of ${SOCKETS} writes: p50 ${pick(0.5)} ms, p90 ${pick(0.9)} ms, p99 ${pick(0.99)} ms`);
  };
  for (let pass = 0; pass < 2; pass++) {
    await run('socket.write', (socket) => socket.write(message));
    // Only safe here: nothing is ever queued in these sockets' streams, so no write can overtake another.
    await run('fs.writeSync', (socket) => writeSync(socket._handle.fd, message));
  }
  const received = await new Promise((done) => {
    reader.once('message', done);
    reader.send('stop');
  });
  console.log(`reader received ${received} of ${4 * ROUNDS * SOCKETS * message.length} bytes`);
  for (const socket of sockets) socket.destroy();
  server.close();
}
