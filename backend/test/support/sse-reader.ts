/**
 * A real Server-Sent Events reader over node:http, parsing the text/event-stream format as browsers do (fields
 * event, id, data, retry; comments; blank line dispatch), with optional gzip decoding.
 */
import { request, type IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { eventually } from './app';
import { checkBody, checkSseEvent, record } from './contract';

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
  json: any;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  ended = false;
  /** A decoding error of the body (a gzip stream that does not check out). */
  error: Error | undefined;
  lastEventId: string | undefined;

  private constructor(
    readonly response: IncomingMessage,
    path: string,
  ) {
    if (response.statusCode !== 200 && /\bjson\b/.test(response.headers['content-type'] ?? '')) {
      // A refusal: the one JSON error body, checked against the protocol like every other answer.
      let text = '';
      response.on('data', (chunk: Buffer) => (text += String(chunk)));
      response.on('end', () => record(() => checkBody('GET', path, response.statusCode ?? 0, JSON.parse(text))));
    }
    const stream = response.headers['content-encoding'] === 'gzip' ? response.pipe(createGunzip()) : response;
    stream.setEncoding('utf8');
    let buffer = '';
    let pending: { event?: string; id?: string; data: string[] } = { data: [] };
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (pending.data.length > 0) {
            const data = pending.data.join('\n');
            if (pending.id !== undefined) this.lastEventId = pending.id;
            let json: unknown;
            try {
              json = JSON.parse(data);
            } catch {
              json = undefined;
            }
            const event = pending.event ?? 'message';
            if (response.statusCode === 200) record(() => checkSseEvent(event, json));
            this.events.push({ event, id: pending.id, data, json });
          }
          pending = { data: [] };
        } else if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
        } else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') pending.event = value;
          else if (field === 'id') pending.id = value;
          else if (field === 'data') pending.data.push(value);
          else if (field === 'retry') this.retry = Number(value);
        }
      }
    });
    stream.on('end', () => (this.ended = true));
    stream.on('error', (error) => {
      if (stream !== response) this.error = error;
      this.ended = true;
    });
    response.on('close', () => (this.ended = true));
  }

  /** Opens the stream; resolves once headers arrive (any status). */
  static open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) =>
        resolve(new SseReader(response, new URL(url).pathname)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Events of the default type (the stream's messages), parsed. */
  get messages(): any[] {
    return this.events.filter((event) => event.event === 'message').map((event) => event.json);
  }

  waitFor(predicate: (event: SseEvent) => boolean, timeoutMs = 5000, what = 'SSE event'): Promise<SseEvent> {
    return eventually(() => this.events.find(predicate), timeoutMs, what);
  }

  waitForMessages(count: number, timeoutMs = 5000): Promise<any[]> {
    return eventually(
      () => (this.messages.length >= count ? this.messages.slice(0, count) : undefined),
      timeoutMs,
      `${count} SSE messages (have ${this.messages.length})`,
    );
  }

  waitForEnd(timeoutMs = 5000): Promise<boolean> {
    return eventually(() => (this.ended ? true : undefined), timeoutMs, 'end of SSE stream');
  }

  close(): void {
    this.response.destroy();
  }
}
