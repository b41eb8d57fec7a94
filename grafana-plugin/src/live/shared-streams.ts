/**
 * Live streams shared by the panels of one data source, and kept for a while after their last panel leaves, as
 * Grafana Live keeps a stream's buffer for 5 s after its last subscriber (dataStreamShutdownDelayInMs) and hands the
 * whole frame to a newcomer: Grafana unsubscribes a panel's query and calls query() again on every refresh, time
 * range change and edit, and a panel that started over each time would drop to the rows of the last second.
 */

/** What a shared stream does: tell its panels when something changed, and close when nobody needs it. */
export interface SharedStream {
  /** Set by the registry: call it after a change (new rows, a notice, an error). */
  changed: () => void;
  close(): void;
}

interface Entry<S extends SharedStream> {
  stream: S;
  listeners: Set<() => void>;
  closeTimer?: ReturnType<typeof setTimeout>;
}

export class SharedStreams {
  private readonly entries = new Map<string, Entry<SharedStream>>();

  /** `keepMs`: how long a stream with no panel left is kept (at least 5 s, as Grafana Live). */
  constructor(private readonly keepMs: number) {}

  /**
   * The stream of `key`, made by `create` when there is none; `listener` hears its changes until `release()`.
   * `reused` says whether the stream was already there (with its rows).
   */
  attach<S extends SharedStream>(
    key: string,
    create: () => S,
    listener: () => void
  ): { stream: S; reused: boolean; release: () => void } {
    let entry = this.entries.get(key) as Entry<S> | undefined;
    const reused = entry !== undefined;
    if (!entry) {
      const stream = create();
      const created: Entry<S> = { stream, listeners: new Set() };
      stream.changed = () => {
        for (const notify of [...created.listeners]) {
          notify();
        }
      };
      this.entries.set(key, created as Entry<SharedStream>);
      entry = created;
    }
    if (entry.closeTimer !== undefined) {
      clearTimeout(entry.closeTimer);
      entry.closeTimer = undefined;
    }
    const current = entry;
    current.listeners.add(listener);
    let released = false;
    return {
      stream: current.stream,
      reused,
      release: () => {
        if (released) {
          return;
        }
        released = true;
        current.listeners.delete(listener);
        if (current.listeners.size === 0) {
          current.closeTimer = setTimeout(() => this.close(key, current), this.keepMs);
        }
      },
    };
  }

  private close(key: string, entry: Entry<SharedStream>): void {
    if (this.entries.get(key) === entry && entry.listeners.size === 0) {
      this.entries.delete(key);
      entry.stream.close();
    }
  }

  /** Streams kept (in use or lingering). */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every stream at once. */
  closeAll(): void {
    for (const [key, entry] of [...this.entries]) {
      if (entry.closeTimer !== undefined) {
        clearTimeout(entry.closeTimer);
      }
      this.entries.delete(key);
      entry.stream.close();
    }
  }
}
