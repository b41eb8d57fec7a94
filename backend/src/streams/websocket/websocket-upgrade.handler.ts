/**
 * WS /ws/{channel}. The service owns the HTTP upgrade (platform-ws matches gateway paths literally, see
 * docs/ARCHITECTURE.md): it checks the path, the channel, the resume position and the connection limit, and refuses
 * with an HTTP error before the handshake; then it hands the socket to the fan-out and keeps it alive with pings.
 */
import {
  CLIENT_PING,
  CLOSE,
  FRAME_ERROR_UNSUPPORTED_MESSAGE,
  SERVER_PONG,
  SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  closeCodeForStatus,
  type ErrorFrame,
  type RefusedReason,
  type TryAgainLaterReason,
} from '@data-streaming/protocol';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Principal } from '../../auth/principal';
import { ApiError } from '../../common/api-error';
import { InjectConfig } from '../../config/config.module';
import type { AppConfig } from '../../config/config.schema';
import { StreamingMetrics } from '../../metrics/streaming.metrics';
import { Compressor, negotiatedWindowBits, type WindowBits } from '../compression';
import { ConnectionLimits } from '../connection-limits';
import { FanoutService } from '../fanout/fanout.service';
import type { Subscriber } from '../fanout/subscriber';
import { LiveChannelRegistry, snapshotFirst, type LiveChannel } from '../live-channels';
import { PositionAheadError } from '../../bus/bus.port';
import { unknownChannel, type StartPoint } from '../subscription-request';
import { Admission, SHUTTING_DOWN_RETRY_AFTER_SECONDS } from '../admission';
import { rawDataText } from './raw-data';
import { connectionKey, tcpSendQueues } from './tcp-send-queues';
import { bytesTaken, WebSocketSink } from './websocket.sink';

const PATH = /^\/ws\/(?:([a-z_]+)\/)?([^/]*)\/?$/;

interface Client {
  channel: string;
  alive: boolean;
  /** The last ping has left the service's buffer for the network (its write completed). */
  pingSent: boolean;
  tcp: Duplex;
  /** At the last heartbeat: bytesTaken, and what the peer had acknowledged where the kernel says (tcp-send-queues). */
  takenAtBeat: number;
  ackedAtBeat: number | undefined;
  subscriber?: Subscriber;
  /** Client pings in the current second, against websocket.max_client_pings_per_second. */
  pings: number;
  pingSecond: number;
}

interface Subscription {
  channel: string;
  /** Where it starts: after a position, at a time, or live. */
  start: StartPoint;
  live: LiveChannel | undefined;
  principal: Principal | undefined;
}

function offeredProtocols(request: IncomingMessage): string[] {
  return (request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((protocol) => protocol.trim())
    .filter(Boolean);
}

export function writeUpgradeRefusal(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.body);
  const reason =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[
      error.status
    ] ?? 'Error';
  const headers = Object.entries(error.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${error.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${headers}Connection: close\r\n\r\n${body}`,
  );
}

/** A close reason of JSON, its message cut so that the whole stays within the 123 bytes a close frame allows. */
export function closeReasonText(reason: TryAgainLaterReason | RefusedReason): string {
  let text = JSON.stringify(reason);
  if ('message' in reason) {
    for (let length = reason.message.length; Buffer.byteLength(text) > 123 && length > 0; length -= 8) {
      text = JSON.stringify({ ...reason, message: `${reason.message.slice(0, Math.max(0, length - 9))}…` });
    }
  }
  return text;
}

@Injectable()
export class WebSocketUpgradeHandler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebSocketUpgradeHandler.name);
  private readonly clients = new Map<WebSocket, Client>();
  private server: WebSocketServer | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private httpServer: Server | undefined;
  /** The permessage-deflate window each handshake answered with, read from the response headers `ws` wrote. */
  private readonly windows = new WeakMap<IncomingMessage, WindowBits>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectConfig() private readonly config: AppConfig,
    private readonly fanout: FanoutService,
    private readonly connections: ConnectionLimits,
    private readonly metrics: StreamingMetrics,
    private readonly liveChannels: LiveChannelRegistry,
    private readonly admission: Admission,
    private readonly compressor: Compressor,
  ) {}

  onApplicationBootstrap(): void {
    const { websocket } = this.config;
    this.server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      // Select our subprotocol when offered; a token sent as a subprotocol is never echoed back.
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      maxPayload: websocket.message_size_limit,
      // Offered to every client that asks, always with server_no_context_takeover (which RFC 7692 lets a server add to
      // any offer, and browsers and `ws` accept), so each message is compressed once for all (streams/compression.ts);
      // client_no_context_takeover keeps no inflate window per socket between the few messages clients send.
      perMessageDeflate: websocket.compression_enabled ? { serverNoContextTakeover: true, clientNoContextTakeover: true } : false,
    });
    this.server.on('headers', (headers: string[], request: IncomingMessage) => {
      const extensions = headers.find((header) => header.toLowerCase().startsWith('sec-websocket-extensions:'));
      this.windows.set(request, negotiatedWindowBits(extensions?.slice(extensions.indexOf(':') + 1)));
    });
    this.httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    this.httpServer.on('upgrade', this.onUpgrade);
    this.heartbeat = setInterval(() => this.beat(), websocket.heartbeat_interval * 1000);
    this.heartbeat.unref();
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    void this.upgrade(request, socket, head);
  };

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let subscription: Subscription;
    let release: () => void;
    try {
      ({ subscription, release } = await this.admit(request));
    } catch (error) {
      if (!socket.destroyed)
        this.refuse(request, socket, head, error instanceof ApiError ? error : ApiError.badRequest('invalid WebSocket request'));
      return;
    }
    // The client may have gone while its credential was checked.
    if (socket.destroyed) {
      release();
      return;
    }
    // `ws` refuses a bad handshake (no key, bad version, bad subprotocol list) by closing the socket without calling
    // back: the slots taken go back when the socket closes before the connection was made.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) release();
    });
    const server = this.server as WebSocketServer;
    server.handleUpgrade(request, socket, head, (ws) => {
      upgraded = true;
      this.onConnection(ws, socket, subscription, release, this.windows.get(request) ?? 0);
    });
  }

  /**
   * Refuses an upgrade with the HTTP error. A browser (a request with Origin) cannot read that status, so it gets a
   * completed handshake closed at once with the status's close code instead: 1013 with the Retry-After for a refusal
   * it should retry (429, 503), 4400/4401/4403/4404 with the error for one it should not. A page from an origin the
   * service does not allow never gets a handshake.
   */
  private refuse(request: IncomingMessage, socket: Duplex, head: Buffer, error: ApiError): void {
    const code = request.headers.origin === undefined ? undefined : closeCodeForStatus(error.status);
    if (code === undefined || error.code === 'origin_not_allowed') {
      writeUpgradeRefusal(socket, error);
      return;
    }
    const reason: TryAgainLaterReason | RefusedReason =
      code === CLOSE.TRY_AGAIN_LATER
        ? { code: error.code, retry_after_seconds: Number(error.headers['Retry-After'] ?? SHUTTING_DOWN_RETRY_AFTER_SECONDS) }
        : { code: error.code, message: error.message };
    (this.server as WebSocketServer).handleUpgrade(request, socket, head, (ws) => ws.close(code, closeReasonText(reason)));
  }

  /** The endpoint and channel of an upgrade request, then the shared admission step (admission.ts). */
  private async admit(request: IncomingMessage): Promise<{ subscription: Subscription; release: () => void }> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = PATH.exec(url.pathname);
    const family = match?.[1] === undefined ? undefined : this.liveChannels.family(match[1]);
    if (!match || (match[1] !== undefined && !family))
      throw ApiError.notFound('not_found', `no WebSocket endpoint at ${url.pathname.slice(0, 100)}`);
    this.admission.ensureOpen();
    if (!this.config.websocket.enabled) throw ApiError.notFound('websocket_disabled', 'WebSocket streaming is disabled');
    const name = decodeURIComponent(match[2] ?? '');
    const live = family?.resolve(name);
    const channel = family ? live?.channel : this.config.websocket.channels.includes(name) ? name : undefined;
    if (channel === undefined) {
      this.admission.refused('websocket', 'unknown_channel');
      throw unknownChannel(
        family ? `${match[1] ?? ''} channel` : 'channel',
        name,
        family ? family.names() : this.config.websocket.channels,
      );
    }
    const tokenProtocol = offeredProtocols(request).find((protocol) => protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX));
    const { principal, start, release } = await this.admission.admit({
      transport: 'websocket',
      request,
      channel,
      names: family ? [channel] : [name, channel],
      credential: {
        query: url.searchParams.get('token'),
        ...(tokenProtocol ? { subprotocol: tokenProtocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length) } : {}),
      },
      asked: { since: url.searchParams.get('since') ?? undefined, from: url.searchParams.get('from') ?? undefined },
      ...(live?.pool ? { pool: live.pool } : {}),
    });
    return { subscription: { channel, live, principal, start }, release };
  }

  private onConnection(
    ws: WebSocket,
    tcp: Duplex,
    { channel, start, live, principal }: Subscription,
    release: () => void,
    windowBits: WindowBits,
  ): void {
    const client: Client = {
      channel,
      alive: true,
      pingSent: false,
      tcp,
      takenAtBeat: bytesTaken(tcp),
      ackedAtBeat: undefined,
      pings: 0,
      pingSecond: 0,
    };
    this.clients.set(ws, client);
    ws.on('pong', () => {
      client.alive = true;
    });
    // A subscriber token ends the connection when it expires; the client resumes with a new one and ?since=.
    const expiry = this.admission.onExpiry(principal, () => ws.close(CLOSE.TOKEN_EXPIRED, 'token expired'));
    ws.on('ping', () => this.countPing(ws, client));
    ws.on('message', (data, isBinary) => {
      if (this.countPing(ws, client)) return;
      if (isBinary) {
        ws.close(CLOSE.UNSUPPORTED_DATA, 'binary frames are not accepted');
        return;
      }
      // The only client message: an application-level ping for clients that cannot see protocol pings.
      const text = rawDataText(data);
      // Uncompressed and sent at once: nothing the fan-out writes to the socket ever waits behind `ws`'s compressor.
      if (text === CLIENT_PING) ws.send(SERVER_PONG, { compress: false });
      else
        ws.send(
          JSON.stringify({
            kind: 'error',
            code: FRAME_ERROR_UNSUPPORTED_MESSAGE,
            reason: 'unsupported_message',
            message: `the only client message is ${CLIENT_PING}`,
          } satisfies ErrorFrame),
          { compress: false },
        );
    });
    ws.on('error', (error) => this.logger.debug(`WebSocket error on ${channel}: ${error.message}`));
    ws.on('close', () => {
      clearTimeout(expiry);
      this.clients.delete(ws);
      release();
      if (client.subscriber) this.fanout.detach(client.subscriber);
    });
    this.fanout
      .attach(channel, new WebSocketSink(ws, tcp, channel, this.compressor, windowBits), {
        ...start,
        beforeLive: live ? snapshotFirst(live, start) : undefined,
      })
      .then((subscriber) => {
        if (this.clients.has(ws)) client.subscriber = subscriber;
        else this.fanout.detach(subscriber);
      })
      .catch((error: unknown) => {
        const policy = error instanceof ApiError || error instanceof PositionAheadError;
        this.logger.warn(`Subscription to ${channel} failed: ${(error as Error).message}`);
        ws.close(policy ? CLOSE.POLICY_VIOLATION : CLOSE.INTERNAL_ERROR, (error as Error).message.slice(0, 120));
      });
  }

  /** Counts a client ping or message; true when it passed the per-second limit and the connection was closed. */
  private countPing(ws: WebSocket, client: Client): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (second !== client.pingSecond) {
      client.pingSecond = second;
      client.pings = 0;
    }
    if (++client.pings <= this.config.websocket.max_client_pings_per_second) return false;
    if (ws.readyState === ws.OPEN) ws.close(CLOSE.POLICY_VIOLATION, 'too many pings or messages');
    return true;
  }

  /**
   * Pings every connection and terminates one that did not answer the last ping and has read nothing since the last
   * beat. A pong can only come once the peer has read the frames queued before the ping (a subscriber working through
   * a backlog), so a peer still reading is alive and waits for the next beat without a new ping. What it read is
   * what the kernel took from the socket less what the kernel still holds unacknowledged (tcp-send-queues), within
   * one write slice; where the kernel's queues cannot be read, only the bytes the kernel took, and a peer whose ping
   * has not yet left the service's buffer is not judged: a dead one with a backlog is closed by the fan-out as a slow
   * consumer, or by the kernel when TCP gives up retransmitting.
   */
  private beat(): void {
    const queues = this.clients.size > 0 ? tcpSendQueues() : undefined;
    for (const [ws, client] of this.clients) {
      const taken = bytesTaken(client.tcp);
      const queued = queues?.get(connectionKey(client.tcp));
      const acked = queued === undefined ? undefined : taken - queued;
      const read = taken > client.takenAtBeat || (acked !== undefined && client.ackedAtBeat !== undefined && acked > client.ackedAtBeat);
      const judged = acked !== undefined || client.pingSent;
      client.takenAtBeat = taken;
      client.ackedAtBeat = acked;
      if (!client.alive) {
        if (read || !judged) continue;
        this.metrics.deadPeers.inc();
        ws.terminate();
        continue;
      }
      client.alive = false;
      client.pingSent = false;
      ws.ping(undefined, undefined, (error?: Error) => {
        if (!error) client.pingSent = true;
      });
      client.takenAtBeat = bytesTaken(client.tcp); // the ping itself is not the peer's reading
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.connections.draining = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const closed = [...this.clients.keys()].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(CLOSE.GOING_AWAY, 'server shutting down');
        }),
    );
    const graceMs = Math.min(2000, (this.config.service.shutdown_timeout * 1000) / 2);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const ws of this.clients.keys()) ws.terminate();
    this.server?.close();
  }
}
