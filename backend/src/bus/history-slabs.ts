/**
 * Memory for the bytes a message keeps while it is in history (its WebSocket frame, its SSE chunk, its compressed
 * forms), carved from slabs that belong to one channel.
 *
 * Node's Buffer.allocUnsafe serves small buffers from one shared 8 KiB pool, and a pool slab is freed only when every
 * slice of it is. A message kept in history for minutes then pins its slab, and with it whatever else was cut from the
 * slab meanwhile: request bodies, batch frames, other channels' messages, all long gone. Under the soak's load that
 * tripled the memory held for history (about 90 MB for 28 MB of messages) and made it wander with the traffic, which
 * malloc's high-water mark followed up. Slabs of one channel fill in the order its messages arrive and leave history
 * in the same order, so a slab is freed soon after its last message leaves: what history holds is its messages' bytes
 * and at most one partly filled slab per channel.
 */
import type { Allocate } from '../common/allocate';

/**
 * The slab size: large enough that a slab holds about a hundred typical messages (one allocation instead of a hundred),
 * small enough that the partly filled slab of a quiet channel costs little. Larger buffers get an allocation of
 * their own (a slab would hold too few of them to be worth it).
 */
const SLAB_BYTES = 64 * 1024;
const OWN_ALLOCATION_FROM = SLAB_BYTES / 8;

class ChannelSlabs {
  private slab: Buffer | undefined;
  private used = 0;

  readonly allocate: Allocate = (size) => {
    if (size >= OWN_ALLOCATION_FROM) return Buffer.allocUnsafeSlow(size);
    if (this.slab === undefined || this.used + size > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const bytes = this.slab.subarray(this.used, this.used + size);
    this.used += (size + 7) & ~7; // 8-byte aligned, as the pool does
    return bytes;
  };
}

const byChannel = new Map<string, ChannelSlabs>();

/** The allocator for the bytes of `channel`'s messages. */
export function historyAllocator(channel: string): Allocate {
  let slabs = byChannel.get(channel);
  if (slabs === undefined) {
    slabs = new ChannelSlabs();
    byChannel.set(channel, slabs);
  }
  return slabs.allocate;
}
