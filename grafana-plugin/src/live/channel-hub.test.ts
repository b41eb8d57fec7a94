import { ChannelHub, SocketLike } from './channel-hub';

/** A socket the test drives by hand: what a server could send, including what it should not. */
class ScriptedSocket implements SocketLike {
  static opened: ScriptedSocket[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  readyState = 1;
  closedWith: number | undefined;

  constructor(readonly url: string) {
    ScriptedSocket.opened.push(this);
  }
  send(frame: unknown) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  close(code?: number) {
    this.readyState = 3;
    this.closedWith = code;
  }
}

const event = (offset: number) => ({
  kind: 'event',
  id: `e:${offset}`,
  channel: 'c',
  type: 't',
  timestamp: new Date(offset * 1000).toISOString(),
  data: { offset },
});

describe('ChannelHub', () => {
  beforeEach(() => {
    ScriptedSocket.opened = [];
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('skips and counts malformed frames, and delivers the rest', () => {
    const hub = new ChannelHub((url) => new ScriptedSocket(url));
    const received: number[] = [];
    const { stats, unsubscribe } = hub.subscribe('ws://x/ws/c', {
      onEvents: (events) => received.push(...events.map((item) => (item.data as { offset: number }).offset)),
    });
    const socket = ScriptedSocket.opened[0];
    socket.send(event(1));
    socket.send('{not json');
    socket.send({ kind: 'batch', events: 'nope' });
    socket.send({ kind: 'batch', channel: 'c', events: [event(2), { kind: 'event' }, event(3)] });
    socket.send({ no: 'kind' });
    socket.send({ kind: 'mystery' });
    expect(received).toEqual([1, 2, 3]);
    expect(stats().malformed).toBe(5);
    unsubscribe();
  });

  it('reconnects with growing, jittered delays, resuming after the last event, and notices a gap', () => {
    const hub = new ChannelHub((url) => new ScriptedSocket(url), { initialMs: 100, maxMs: 1000 });
    const notices: string[] = [];
    hub.subscribe('ws://x/ws/c', { onEvents: () => undefined, onNotice: (text) => notices.push(text) });
    ScriptedSocket.opened[0].send(event(7));
    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = ScriptedSocket.opened.length;
      ScriptedSocket.opened.at(-1)!.drop();
      let waited = 0;
      while (ScriptedSocket.opened.length === before && waited < 5000) {
        jest.advanceTimersByTime(10);
        waited += 10;
      }
      delays.push(waited);
    }
    [100, 200, 400, 800, 1000].forEach((ceiling, index) => {
      expect(delays[index]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delays[index]).toBeLessThanOrEqual(ceiling + 10);
    });
    expect(ScriptedSocket.opened.at(-1)!.url).toBe('ws://x/ws/c?since=e%3A7');
    ScriptedSocket.opened.at(-1)!.send({
      kind: 'welcome',
      channel: 'c',
      epoch: 'f',
      last_id: 'f:3',
      resumed: true,
      recovered: false,
      reason: 'epoch_changed',
      replayed: 3,
    });
    expect(notices).toEqual(['Events may be missing: the service restarted (resumed at f:3).']);
  });

  it('closes the socket and clears the reconnect timer when the last listener leaves', () => {
    const hub = new ChannelHub((url) => new ScriptedSocket(url), { initialMs: 100, maxMs: 1000 });
    const first = hub.subscribe('ws://x/ws/c', { onEvents: () => undefined });
    const second = hub.subscribe('ws://x/ws/c', { onEvents: () => undefined });
    expect(ScriptedSocket.opened).toHaveLength(1);
    first.unsubscribe();
    expect(ScriptedSocket.opened[0].closedWith).toBeUndefined();
    ScriptedSocket.opened[0].drop();
    second.unsubscribe();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10_000);
    expect(ScriptedSocket.opened).toHaveLength(1);
    expect(hub.size).toBe(0);

    const third = hub.subscribe('ws://x/ws/c', { onEvents: () => undefined });
    third.unsubscribe();
    expect(ScriptedSocket.opened[1].closedWith).toBe(1000);
  });

  it('waits at least the Retry-After of a 1013 close, with jitter, so that a wave of refused panels spreads out', () => {
    const delays: number[] = [];
    for (let panel = 0; panel < 20; panel++) {
      ScriptedSocket.opened = [];
      const hub = new ChannelHub((url) => new ScriptedSocket(url), { initialMs: 100, maxMs: 1000 });
      const { unsubscribe } = hub.subscribe('ws://x/ws/c', { onEvents: () => undefined });
      ScriptedSocket.opened[0].drop(1013, JSON.stringify({ code: 'max_connections', retry_after_seconds: 5 }));
      let waited = 0;
      while (ScriptedSocket.opened.length === 1 && waited < 20_000) {
        jest.advanceTimersByTime(10);
        waited += 10;
      }
      delays.push(waited);
      unsubscribe();
    }
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(5000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(7510);
    // Spread, not all at once: the jitter is half the Retry-After.
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(500);
  });
});
