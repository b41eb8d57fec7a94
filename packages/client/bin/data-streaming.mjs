#!/usr/bin/env node
// data-streaming: the command line of the client library.
//   data-streaming tail <channel> [--since <id> | --from <time>] [--count N] [--url URL] [--websocket]
//   data-streaming publish <channel> <type> [<json data>]     (no data: one JSON value per line of standard input)
// The service's URL from --url or DATA_STREAMING_API_URL (default http://127.0.0.1:9102), an API key from
// DATA_STREAMING_API_KEY (never on the command line, where `ps` shows it). `tail` prints each event as one JSON line,
// reconnects and resumes without gaps, says on standard error where to resume from when it stops, and reads over SSE
// (fetch) unless --websocket (needs a global WebSocket: Node 22, or browsers). Exit codes: 0 done, 1 refused or
// failed, 2 bad usage.
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import { ClientError, createClient } from '../dist/index.js';

const USAGE = `usage:
  data-streaming tail <channel> [--since <event id> | --from <time>] [--count N] [--url URL] [--websocket]
  data-streaming publish <channel> <type> [<json data>] [--key-field <path>] [--url URL]
      without <json data>: one JSON value per line of standard input, each the data of one event
channels: metrics_updates, system_alerts, ... | dashboards/<type> | high_frequency/<name> (tail only)
environment: DATA_STREAMING_API_URL (default http://127.0.0.1:9102), DATA_STREAMING_API_KEY
`;
/** Events per POST /events (service.max_batch_events is 1,000 by default). */
const BATCH = 500;
const MAX_ATTEMPTS = 8;

function fail(message, code = 1) {
  process.stderr.write(`data-streaming: ${message}\n`);
  process.exit(code);
}

function parse(argv) {
  const positional = [];
  const options = {};
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if (arg === '--websocket' || arg === '--help' || arg === '-h') options[arg.replace(/^-+/, '')] = true;
    else if (arg.startsWith('--')) {
      const value = argv[++index];
      if (value === undefined) fail(`${arg} needs a value\n${USAGE}`, 2);
      options[arg.slice(2)] = value;
    } else positional.push(arg);
  }
  return { positional, options };
}

const { positional, options } = parse(process.argv.slice(2));
const [command, ...rest] = positional;
if (options.help || options.h || !command) {
  process.stdout.write(USAGE);
  process.exit(command || options.help || options.h ? 0 : 2);
}
const url = (options.url ?? process.env.DATA_STREAMING_API_URL ?? 'http://127.0.0.1:9102').replace(/\/+$/, '');
const key = process.env.DATA_STREAMING_API_KEY || undefined;
const headers = key ? { authorization: `Bearer ${key}` } : {};

async function tail([channel]) {
  if (!channel) fail(`tail needs a channel\n${USAGE}`, 2);
  if (options.since && options.from) fail('give --since or --from, not both', 2);
  const count = options.count === undefined ? Infinity : Number(options.count);
  if (!(count > 0)) fail('--count must be a positive number', 2);
  const from = options.from === undefined ? undefined : /^\d+$/.test(options.from) ? Number(options.from) : options.from;
  if (typeof from === 'string' && Number.isNaN(Date.parse(from))) fail(`--from ${from}: not a time (RFC 3339, or ms since 1970)`, 2);
  const client = createClient({
    url,
    transport: options.websocket ? 'websocket' : 'sse',
    ...(key ? { credential: { token: key } } : {}),
  });
  let printed = 0;
  const stop = (code) => {
    client.close();
    if (subscription.lastId) process.stderr.write(`data-streaming: resume with --since ${subscription.lastId}\n`);
    process.exit(code);
  };
  const subscription = client.subscribe(channel, {
    ...(options.since ? { since: options.since } : {}),
    ...(from === undefined ? {} : { from }),
    onEvent: (event) => {
      if (printed >= count) return;
      process.stdout.write(`${JSON.stringify(event)}\n`);
      if (++printed >= count) stop(0);
    },
    onSnapshot: (data, id) => process.stdout.write(`${JSON.stringify({ kind: 'snapshot', id, data })}\n`),
    onGap: (gap) =>
      process.stderr.write(
        `data-streaming: events after ${gap.lastId ?? 'the start'} may be missing (${gap.reason}${gap.fromReached ? `; history from ${gap.fromReached}` : ''})\n`,
      ),
    onStatus: (status) => {
      if (status === 'reconnecting') process.stderr.write('data-streaming: reconnecting…\n');
    },
    onError: (error) => fail(`${channel}: ${error.message}`),
  });
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  process.stdout.on('error', () => stop(0)); // a closed pipe (| head)
}

/** POST /events with one Idempotency-Key per batch, retried after Retry-After on 429 and 503 and on network errors. */
async function send(events) {
  const idempotencyKey = randomUUID();
  for (let attempt = 1; ; attempt++) {
    let response;
    try {
      response = await fetch(`${url}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, ...headers },
        body: JSON.stringify(events),
      });
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS) fail(`cannot reach ${url}: ${error.cause?.message ?? error.message}`);
      await new Promise((done) => setTimeout(done, Math.min(5000, 250 * 2 ** attempt)));
      continue;
    }
    const body = await response.json().catch(() => ({}));
    if (response.status === 202) return body.ids;
    if ((response.status === 429 || response.status === 503) && attempt < MAX_ATTEMPTS) {
      const seconds = Number(response.headers.get('retry-after'));
      await new Promise((done) => setTimeout(done, (Number.isFinite(seconds) ? seconds : 1) * 1000 * (1 + Math.random() / 2)));
      continue;
    }
    const problems = body.details?.problems?.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
    fail(
      `refused (HTTP ${response.status} ${body.error ?? ''}): ${body.message ?? response.statusText}${problems ? ` (${problems})` : ''}`,
    );
  }
}

async function publish([channel, type, data]) {
  if (!channel || !type) fail(`publish needs a channel and an event type\n${USAGE}`, 2);
  const event = (value, line) => {
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      fail(`${line === undefined ? 'data' : `line ${line}`}: not JSON: ${error.message}`, 2);
    }
    const eventKey = options['key-field'] ? options['key-field'].split('.').reduce((at, part) => at?.[part], parsed) : undefined;
    return { channel, type, data: parsed, ...(eventKey === undefined ? {} : { key: String(eventKey) }) };
  };
  if (data !== undefined) {
    const [id] = await send([event(data)]);
    process.stdout.write(`${id}\n`);
    return;
  }
  if (process.stdin.isTTY) fail(`publish: give the data as an argument, or one JSON value per line on standard input\n${USAGE}`, 2);
  let batch = [];
  let line = 0;
  let sent = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const ids = await send(batch);
    process.stdout.write(ids.map((id) => `${id}\n`).join(''));
    sent += batch.length;
    batch = [];
  };
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    batch.push(event(text, line));
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  process.stderr.write(`data-streaming: ${sent} events published to ${channel}\n`);
}

const commands = { tail, publish };
if (!commands[command]) fail(`unknown command ${command}\n${USAGE}`, 2);
commands[command](rest).catch((error) => fail(error instanceof ClientError ? error.message : (error.stack ?? String(error))));
