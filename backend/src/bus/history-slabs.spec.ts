import { historyAllocator } from './history-slabs';

describe('historyAllocator', () => {
  it("cuts one channel's buffers from a shared slab, without overlap, 8-byte aligned", () => {
    const allocate = historyAllocator('spec.slabs.one');
    const buffers = [13, 700, 1, 2048, 64].map((size) => allocate(size));
    const slab = buffers[0]!.buffer;
    for (const [index, buffer] of buffers.entries()) {
      expect(buffer.buffer).toBe(slab);
      expect(buffer.byteOffset % 8).toBe(0);
      buffer.fill(index);
    }
    // Each buffer still holds what was written to it: none overlaps another.
    for (const [index, buffer] of buffers.entries()) expect(buffer.every((byte) => byte === index)).toBe(true);
  });

  it('gives each channel slabs of its own, so that one channel never keeps memory of another alive', () => {
    const a = historyAllocator('spec.slabs.a')(100);
    const b = historyAllocator('spec.slabs.b')(100);
    expect(a.buffer).not.toBe(b.buffer);
    expect(historyAllocator('spec.slabs.a')(100).buffer).toBe(a.buffer);
  });

  it('starts a new slab when the current one is full, and gives large buffers an allocation of their own', () => {
    const allocate = historyAllocator('spec.slabs.full');
    const first = allocate(4000);
    let next = allocate(4000);
    let count = 1;
    while (next.buffer === first.buffer) {
      next = allocate(4000);
      count++;
    }
    expect(count).toBe(16); // 64 KiB slabs hold sixteen 4000-byte buffers
    const large = allocate(16 * 1024);
    expect(large.buffer.byteLength).toBe(16 * 1024);
    expect(allocate(10).buffer).toBe(next.buffer);
  });

  it('never hands out a buffer from Node’s shared pool', () => {
    const pooled = Buffer.allocUnsafe(10);
    expect(historyAllocator('spec.slabs.pool')(10).buffer).not.toBe(pooled.buffer);
  });
});
