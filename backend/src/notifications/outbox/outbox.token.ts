export const OUTBOX = Symbol('OUTBOX');
