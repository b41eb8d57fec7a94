/**
 * How far TCP peers have read, from the kernel. Node sees only what the kernel took from a socket, and that stops
 * moving once a backlog fits in the kernel's buffers (megabytes on loopback): a peer still reading the last of a
 * backlog then looks like a dead one. Linux's /proc/net/tcp and /proc/net/tcp6 give every connection's send queue,
 * the bytes the peer has not yet acknowledged; what the kernel took less that queue is what the peer has read (or
 * its kernel holds for it). Where /proc is not there (another system, a sandbox that hides it) nothing is known and
 * callers judge by what Node sees.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
const ESTABLISHED = '01';

const readTable = (table: string): string | undefined => {
  try {
    return readFileSync(table, 'latin1');
  } catch {
    return undefined;
  }
};

/**
 * Unacknowledged bytes of each established connection by `localPort:remotePort`; ports seen twice are left out.
 * Read synchronously: the queues must be those of the same moment as the sockets' own counts read beside them (no
 * write happens in between). The kernel makes the tables from memory; a few milliseconds for thousands of sockets.
 */
export function tcpSendQueues(): Map<string, number> | undefined {
  const tables = TABLES.map(readTable);
  if (tables.every((text) => text === undefined)) return undefined;
  const queues = new Map<string, number>();
  const ambiguous = new Set<string>();
  for (const text of tables) {
    if (text === undefined) continue;
    // "sl local_address rem_address st tx_queue:rx_queue ...", addresses as HEXADDR:HEXPORT.
    for (const line of text.split('\n').slice(1)) {
      const [, local, remote, state, queue] = line.trim().split(/\s+/);
      if (state !== ESTABLISHED || local === undefined || remote === undefined || queue === undefined) continue;
      const key = `${parseInt(local.slice(local.lastIndexOf(':') + 1), 16)}:${parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16)}`;
      if (queues.has(key)) ambiguous.add(key);
      queues.set(key, parseInt(queue.slice(0, queue.indexOf(':')), 16));
    }
  }
  // Two peers on different addresses may use the same port: neither can be told apart by port alone.
  for (const key of ambiguous) queues.delete(key);
  return queues;
}

/** The key of a connection's row in `tcpSendQueues`. */
export const connectionKey = (tcp: Duplex): string => `${(tcp as Socket).localPort}:${(tcp as Socket).remotePort}`;
