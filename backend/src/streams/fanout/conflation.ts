/**
 * Conflation for a lagging subscriber: a backlog of high-frequency ticks or dashboard updates leaves as one message,
 * the latest value per key, instead of every intermediate state. It takes the last message's id (a resume from it
 * continues after the whole backlog) and says how many messages it stands for in `conflated`.
 */
import { StreamMessage, type WireEvent } from '../../bus/stream-message';

type Merge = (events: readonly Readonly<WireEvent>[]) => unknown;

interface PanelUpdate {
  dashboard?: unknown;
  cursor?: unknown;
  full?: boolean;
  panels?: { panel_id?: unknown }[];
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** High-frequency ticks: `data.values` merged, later ticks winning per key. */
const mergeValues: Merge = (events) => {
  const values: Record<string, unknown> = {};
  for (const event of events) Object.assign(values, record(record(event.data).values));
  return { ...record(events.at(-1)?.data), values };
};

/** Dashboard updates: panels merged by panel_id from the last full update on; full when one was. */
const mergePanels: Merge = (events) => {
  const updates = events.map((event) => record(event.data) as PanelUpdate);
  let from = 0;
  updates.forEach((update, index) => {
    if (update.full) from = index;
  });
  const panels = new Map<unknown, unknown>();
  for (const update of updates.slice(from)) for (const panel of update.panels ?? []) panels.set(panel.panel_id, panel);
  return { ...updates.at(-1), full: updates[from]?.full === true, panels: [...panels.values()] };
};

export function conflater(kind: 'values' | 'panels'): (messages: readonly StreamMessage[]) => StreamMessage | undefined {
  const merge = kind === 'values' ? mergeValues : mergePanels;
  return (messages) => {
    const first = messages[0];
    const last = messages.at(-1);
    // Only within one epoch: positions of different epochs do not order.
    if (!first || !last || first.epoch !== last.epoch) return undefined;
    const events = messages.map((message) => message.event);
    const event: WireEvent = { ...last.event, data: merge(events), conflated: messages.length };
    return new StreamMessage(last.channel, last.epoch, last.offset, event, undefined, first.acceptedAt, last.at);
  };
}
