/** A real `ws` client that records every frame, expands batch frames into events, and can wait for what it needs. */
import WebSocket from 'ws';
import { rawDataText } from '../../src/streams/websocket/raw-data';
import { eventually } from './app';
import { checkBody, checkFrame, record } from './contract';

export interface Frame {
  kind: string;
  [field: string]: any;
}

export class WsClient {
  readonly frames: Frame[] = [];
  readonly events: Frame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: WebSocket.RawData) => {
      const frame = JSON.parse(rawDataText(data)) as Frame;
      record(() => checkFrame(frame));
      this.frames.push(frame);
      if (frame.kind === 'event') this.events.push(frame);
      if (frame.kind === 'batch') this.events.push(...(frame.events as Frame[]));
    });
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = String(reason);
    });
    socket.on('error', () => undefined);
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options);
      const client = new WsClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += String(chunk)));
        response.on('end', () => {
          const parsed: unknown = JSON.parse(body || 'null');
          record(() => checkBody('GET', new URL(url).pathname, response.statusCode ?? 0, parsed));
          reject(
            Object.assign(new Error(`HTTP ${response.statusCode}`), {
              status: response.statusCode,
              headers: response.headers,
              body: parsed,
            }),
          );
        });
      });
      socket.once('error', reject);
    });
  }

  /** Connects and waits for the welcome frame. */
  static async subscribe(url: string, options: WebSocket.ClientOptions = {}): Promise<WsClient> {
    const client = await WsClient.connect(url, options);
    await client.welcome();
    return client;
  }

  welcome(): Promise<Frame> {
    return eventually(() => this.frames.find((frame) => frame.kind === 'welcome'), 5000, 'welcome frame');
  }

  waitForEvents(count: number, timeoutMs = 5000): Promise<Frame[]> {
    return eventually(
      () => (this.events.length >= count ? this.events.slice(0, count) : undefined),
      timeoutMs,
      `${count} events (have ${this.events.length})`,
    );
  }

  waitForClose(timeoutMs = 5000): Promise<number> {
    return eventually(() => this.closeCode, timeoutMs, 'close');
  }

  close(): void {
    this.socket.close();
  }
}
