/**
 * Grafana's data source proxy, reduced to what plugin.json declares: requests under
 * `/api/datasources/proxy/uid/<uid>/<route path>/` go to the route's URL with the route's headers, templated from
 * the data source's URL, jsonData and secureJsonData as Grafana templates them (Go's text/template: a key the data
 * source does not set is the text `<no value>`), WebSocket upgrades included. It reads the routes from the real
 * plugin.json, so the test checks the route the plugin ships, against the real backend.
 */
import { readFileSync } from 'fs';
import { createServer, request, type IncomingMessage, type Server } from 'http';
import { connect } from 'net';
import { resolve } from 'path';
import { renderRouteTemplate } from './grafana-semantics';

interface Route {
  path: string;
  url: string;
  headers?: Array<{ name: string; content: string }>;
}

export interface ProxiedDataSource {
  uid: string;
  /** The data source's own (top-level) URL. */
  url?: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export const routes = (JSON.parse(readFileSync(resolve(__dirname, '../plugin.json'), 'utf8')) as { routes: Route[] })
  .routes;

function template(text: string, source: ProxiedDataSource): string {
  return renderRouteTemplate(text, {
    URL: source.url ?? '',
    JsonData: source.jsonData,
    SecureJsonData: source.secureJsonData,
  });
}

/**
 * Where a proxied request goes, and with which extra headers; undefined when no route matches, an Error when the
 * rendered route is no URL (a data source without the key the route needs: Grafana's proxy then answers 502).
 */
function target(
  url: string,
  source: ProxiedDataSource
): { url: URL; headers: Record<string, string> } | Error | undefined {
  const prefix = `/api/datasources/proxy/uid/${source.uid}/`;
  if (!url.startsWith(prefix)) {
    return undefined;
  }
  const rest = url.slice(prefix.length);
  const route = routes.find(
    (candidate) =>
      rest === candidate.path || rest.startsWith(`${candidate.path}/`) || rest.startsWith(`${candidate.path}?`)
  );
  if (!route) {
    return undefined;
  }
  const base = template(route.url, source).replace(/\/+$/, '');
  const headers = Object.fromEntries(
    (route.headers ?? []).map((header) => [header.name.toLowerCase(), template(header.content, source)])
  );
  try {
    return { url: new URL(`${base}${rest.slice(route.path.length)}`), headers };
  } catch {
    return new Error(`the route "${route.path}" renders to "${base}", which is no URL`);
  }
}

function forwardedHeaders(
  incoming: IncomingMessage,
  extra: Record<string, string>,
  host: string
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined && name !== 'host' && name !== 'authorization') {
      headers[name] = value;
    }
  }
  return { ...headers, ...extra, host };
}

export async function startRouteProxy(source: ProxiedDataSource): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((incoming, outgoing) => {
    const where = target(incoming.url ?? '', source);
    if (!where) {
      outgoing.writeHead(404).end();
      return;
    }
    if (where instanceof Error) {
      outgoing.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ message: where.message }));
      return;
    }
    const upstream = request(
      where.url,
      { method: incoming.method, headers: forwardedHeaders(incoming, where.headers, where.url.host) },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      }
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  server.on('upgrade', (incoming: IncomingMessage, socket, head: Buffer) => {
    const where = target(incoming.url ?? '', source);
    if (!where || where instanceof Error) {
      socket.end(`HTTP/1.1 ${where ? '502 Bad Gateway' : '404 Not Found'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    const upstream = connect(Number(where.url.port), where.url.hostname, () => {
      const headers = forwardedHeaders(incoming, where.headers, where.url.host);
      const lines = Object.entries(headers).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((item) => `${name}: ${item}`)
      );
      upstream.write(`GET ${where.url.pathname}${where.url.search} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
