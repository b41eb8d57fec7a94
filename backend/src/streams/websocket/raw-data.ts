import type { RawData } from 'ws';

/** The UTF-8 text of a received frame, whatever shape `ws` delivered it in. */
export function rawDataText(data: RawData): string {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
  return bytes.toString('utf8');
}
