/**
 * Streams: any WebSocket channel, SSE stream or high-frequency stream, live. Pause keeps receiving (and counts what
 * arrives) without redrawing; filters by type and key; each event with its id, time and pretty-printed data; events
 * per second over the last five seconds. The choice is in the URL (`?source=ws:metrics_updates`), so it can be linked.
 */
import type { TransportKind } from '@data-streaming/client';
import type { StreamsStatus, WireEvent } from '@data-streaming/protocol';
import { getJson, liveClient } from '../api';
import { clear, h } from '../dom';
import { liveBadge, type Page } from '../shell';

/** Events kept on the page, newest first. */
const KEPT = 200;
const RATE_WINDOW_MS = 5000;

interface Source {
  id: string;
  label: string;
  channel: string;
  transport: TransportKind;
}

function sourcesOf(status: StreamsStatus): { group: string; sources: Source[] }[] {
  const channels = Object.keys(status.channels);
  const sse = [...new Set(Object.values(status.channels).flatMap((channel) => channel.sse_streams))];
  const highFrequency = [...new Set(Object.values(status.channels).flatMap((channel) => channel.high_frequency_streams))];
  return [
    {
      group: 'WebSocket channels',
      sources: channels.map((name) => ({ id: `ws:${name}`, label: name, channel: name, transport: 'websocket' as const })),
    },
    { group: 'SSE streams', sources: sse.map((name) => ({ id: `sse:${name}`, label: name, channel: name, transport: 'sse' as const })) },
    {
      group: 'High-frequency streams',
      sources: highFrequency.map((name) => ({
        id: `hf:${name}`,
        label: name,
        channel: `high_frequency/${name}`,
        transport: 'sse' as const,
      })),
    },
  ].filter((group) => group.sources.length > 0);
}

function eventItem(event: WireEvent): HTMLElement {
  return h(
    'li',
    { class: 'event', 'data-id': event.id },
    h(
      'div',
      { class: 'event-head' },
      h('code', {}, event.id),
      h('span', {}, event.type),
      event.key ? h('span', { class: 'muted' }, `key ${event.key}`) : null,
      h('time', { datetime: event.timestamp }, event.timestamp),
    ),
    h('pre', {}, JSON.stringify(event.data, null, 2)),
  );
}

export async function streamsPage(): Promise<Page> {
  const status = await getJson<StreamsStatus>('/streams/status');
  const groups = sourcesOf(status);
  const all = groups.flatMap((group) => group.sources);
  const wanted = new URLSearchParams(location.search).get('source');
  let source = all.find((item) => item.id === wanted) ?? all[0];
  const badge = liveBadge();
  const picker = h(
    'select',
    { id: 'source', 'aria-label': 'Stream' },
    ...groups.map((group) =>
      h(
        'optgroup',
        { label: group.group },
        ...group.sources.map((item) => h('option', { value: item.id, selected: item.id === source?.id }, item.label)),
      ),
    ),
  );
  const typeFilter = h('input', { id: 'type-filter', type: 'search', placeholder: 'type contains', 'aria-label': 'Filter by type' });
  const keyFilter = h('input', { id: 'key-filter', type: 'search', placeholder: 'key contains', 'aria-label': 'Filter by key' });
  const pause = h('button', { type: 'button', id: 'pause', 'aria-pressed': 'false' }, 'Pause');
  const rate = h('span', { class: 'rate', 'data-figure': 'rate' }, '0 events/s');
  const counts = h('span', { class: 'muted', 'data-figure': 'counts' });
  const list = h('ol', { class: 'events', 'aria-live': 'off' });

  let events: WireEvent[] = [];
  let arrivals: number[] = [];
  let received = 0;
  let heldWhilePaused = 0;
  let paused = false;
  let subscription: { unsubscribe(): void } | undefined;

  const matches = (event: WireEvent): boolean =>
    event.type.includes(typeFilter.value.trim()) && (keyFilter.value.trim() === '' || (event.key ?? '').includes(keyFilter.value.trim()));
  const redraw = (): void => {
    clear(list);
    list.append(...events.filter(matches).map(eventItem));
  };
  const showCounts = (): void => {
    counts.textContent = `${received} received${paused ? ` · ${heldWhilePaused} new while paused` : ''}`;
  };
  const receive = (batch: readonly WireEvent[]): void => {
    const now = Date.now();
    received += batch.length;
    arrivals.push(...batch.map(() => now));
    events = [...[...batch].reverse(), ...events].slice(0, KEPT);
    if (paused) heldWhilePaused += batch.length;
    else {
      const shown = [...batch].reverse().filter(matches).map(eventItem);
      list.prepend(...shown);
      while (list.childElementCount > KEPT) list.lastElementChild?.remove();
    }
    showCounts();
  };
  const open = (next: Source | undefined): void => {
    subscription?.unsubscribe();
    events = [];
    arrivals = [];
    received = 0;
    heldWhilePaused = 0;
    clear(list);
    showCounts();
    if (!next) return;
    source = next;
    history.replaceState(null, '', `/console/streams?source=${encodeURIComponent(next.id)}`);
    subscription = liveClient(next.transport).subscribe(next.channel, {
      onEvents: receive,
      onSnapshot: (data, id) =>
        receive([{ kind: 'event', id, channel: next.channel, type: 'snapshot', timestamp: new Date().toISOString(), data }]),
      onStatus: badge.set,
    });
  };
  picker.addEventListener('change', () => open(all.find((item) => item.id === picker.value)));
  for (const filter of [typeFilter, keyFilter]) filter.addEventListener('input', redraw);
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) {
      heldWhilePaused = 0;
      redraw();
    }
    showCounts();
  });
  const timer = setInterval(() => {
    const since = Date.now() - RATE_WINDOW_MS;
    arrivals = arrivals.filter((at) => at >= since);
    rate.textContent = `${(arrivals.length / (RATE_WINDOW_MS / 1000)).toFixed(1)} events/s`;
  }, 1000);
  open(source);

  return {
    title: 'Streams',
    element: h(
      'div',
      { class: 'page streams' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Streams'), badge.element),
      h('div', { class: 'controls' }, picker, typeFilter, keyFilter, pause, rate, counts),
      list,
    ),
    dispose: () => {
      clearInterval(timer);
      subscription?.unsubscribe();
    },
  };
}
