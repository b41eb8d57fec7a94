/** Real receivers on loopback: an SMTP server (smtp-server) and an HTTP server standing in for Slack's webhook. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  headers: Record<string, string>;
  body: string;
}

function parseMail(raw: string): Pick<ReceivedMail, 'subject' | 'headers' | 'body'> {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (/quoted-printable/i.test(headers['content-transfer-encoding'] ?? '')) {
    body = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return { subject: headers.subject ?? '', headers, body };
}

export async function startSmtp(): Promise<{ url: string; mails: ReceivedMail[]; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('error', () => undefined);
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((address) => address.address),
          raw,
          ...parseMail(raw),
        });
        callback();
      });
    },
  });
  // A client that dies mid-session (the crash test kills the service with SIGKILL) resets its connections: that is
  // the client's failure, not the receiver's, so the server records nothing and keeps serving.
  server.on('error', () => undefined);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.server.address() as { port: number };
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise((done) => server.close(() => done())) };
}

export interface WebhookCall {
  at: number;
  headers: IncomingMessage['headers'];
  body: any;
}

/** An HTTP receiver whose answer each test decides; every call is recorded. */
export async function startWebhook(): Promise<{
  url: string;
  calls: WebhookCall[];
  respond: (handler: (call: WebhookCall, response: ServerResponse) => void) => void;
  close(): Promise<void>;
}> {
  const calls: WebhookCall[] = [];
  let handler: (call: WebhookCall, response: ServerResponse) => void = (_call, response) => response.writeHead(200).end('ok');
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += String(chunk)));
    request.on('end', () => {
      const call = { at: Date.now(), headers: request.headers, body: JSON.parse(text || 'null') };
      calls.push(call);
      handler(call, response);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`,
    calls,
    respond: (next) => (handler = next),
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
