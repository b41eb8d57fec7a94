/**
 * Where bytes that outlive the call are made: Node's shared pool by default; history keeps its messages' bytes in
 * slabs of their channel instead (bus/history-slabs.ts).
 */
export type Allocate = (size: number) => Buffer;

/** Node's shared pool (Buffer.allocUnsafe): right for bytes that leave soon. */
export const fromPool: Allocate = (size) => Buffer.allocUnsafe(size);
