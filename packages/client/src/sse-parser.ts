/**
 * An incremental text/event-stream parser (the WHATWG HTML algorithm: fields event, id, data; comments; a blank line
 * dispatches; CR, LF and CRLF all end lines), for the SSE transport, which reads the stream with fetch so that it can
 * send headers and see the status of a refusal.
 */
export interface SseMessage {
  event: string;
  id: string | undefined;
  data: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private id: string | undefined;
  private data: string[] = [];
  /** The last piece ended with a CR: an LF that starts the next one is the rest of that CRLF. */
  private afterCR = false;

  /** Takes the next piece of the stream; returns the messages it completed. */
  push(text: string): SseMessage[] {
    this.buffer += this.afterCR && text.startsWith('\n') ? text.slice(1) : text;
    this.afterCR = false;
    const messages: SseMessage[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      if (end < 0) break;
      const crlf = this.buffer.startsWith('\r\n', end);
      if (!crlf && this.buffer[end] === '\r' && end === this.buffer.length - 1) this.afterCR = true;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (crlf ? 2 : 1));
      this.line(line, messages);
    }
    return messages;
  }

  private line(line: string, messages: SseMessage[]): void {
    if (line === '') {
      if (this.data.length > 0) messages.push({ event: this.event || 'message', id: this.id, data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}
