/**
 * How the console talks to the service: only its public API. JSON over fetch (with the API key, when one is kept for
 * this tab, as `Authorization: Bearer`), and live data through @data-streaming/client, whose sockets carry
 * subscriber tokens from POST /auth/token rather than the key itself.
 */
import { createClient, type Client, type Credential, type TransportKind } from '@data-streaming/client';
import type { ErrorBody, TokenResponse, VerifyResponse } from '@data-streaming/protocol';

const KEY_STORAGE = 'data-streaming-api.key';

/** The API key of this tab: sessionStorage only (never a URL, a log or localStorage). */
export const apiKey = {
  get: (): string | undefined => sessionStorage.getItem(KEY_STORAGE) ?? undefined,
  set: (key: string): void => sessionStorage.setItem(KEY_STORAGE, key),
  clear: (): void => sessionStorage.removeItem(KEY_STORAGE),
};

/** A refusal of the service, with its JSON error body. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody> | undefined,
  ) {
    super(body?.message ?? `HTTP ${status}`);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey.get();
  return { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: headers() });
  const body = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) throw new ApiFailure(response.status, body as Partial<ErrorBody> | undefined);
  return body as T;
}

export async function postJson<T>(path: string, payload: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(payload),
  });
  const body = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) throw new ApiFailure(response.status, body as Partial<ErrorBody> | undefined);
  return body as T;
}

/** Subscriber tokens for the sockets, renewed by the client before they expire. */
const tokens: Credential = {
  getToken: async (channel: string) => {
    // Token names: `dashboard.<type>` and `high_frequency.<name>`; the client names them `dashboards/…`, `high_frequency/…`.
    const grant = channel.replace(/^dashboards\//, 'dashboard.').replace(/^high_frequency\//, 'high_frequency.');
    const issued = await postJson<TokenResponse>('/auth/token', { channels: [grant] });
    return { token: issued.token, expiresAt: issued.expires_at };
  },
};

const clients = new Map<TransportKind, Client>();

/**
 * The client of the page for a transport (WebSocket by default; SSE for the SSE streams): one socket per channel,
 * shared by every panel that shows it.
 */
export function liveClient(transport: TransportKind = 'websocket'): Client {
  let client = clients.get(transport);
  if (!client) {
    client = createClient({
      url: location.origin,
      transport,
      ...(apiKey.get() ? { credential: tokens } : {}),
      backoff: { initialMs: 500, maxMs: 10_000 },
    });
    clients.set(transport, client);
  }
  return client;
}

/** Closes every socket (after signing in or out, the credential changes). */
export function resetLiveClients(): void {
  for (const client of clients.values()) client.close();
  clients.clear();
}

/** What the tab's credential may do, from GET /auth/verify: `signedOut` when keys are required and none (or a refused one) is kept. */
export type Session = { state: 'open' | 'signedIn'; verify: VerifyResponse } | { state: 'signedOut'; failure: ApiFailure };

let session: Promise<Session> | undefined;

async function verifyKey(key: string | undefined): Promise<VerifyResponse> {
  const response = await fetch('/auth/verify', {
    headers: { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
  });
  const body = (await response.json().catch(() => undefined)) as unknown;
  if (!response.ok) throw new ApiFailure(response.status, body as Partial<ErrorBody> | undefined);
  return body as VerifyResponse;
}

/** The tab's session, asked once per credential. */
export function currentSession(): Promise<Session> {
  session ??= verifyKey(apiKey.get()).then(
    (verify): Session => ({ state: verify.keys_required ? 'signedIn' : 'open', verify }),
    (error: unknown): Session => {
      if (error instanceof ApiFailure && error.status === 401) return { state: 'signedOut', failure: error };
      session = undefined; // the service did not answer: ask again next time
      throw error;
    },
  );
  return session;
}

/**
 * Keeps `key` for this tab once the service accepts it (a refused key is not kept: the ApiFailure says why), and
 * reconnects the live sockets with tokens it grants.
 */
export async function signIn(key: string): Promise<VerifyResponse> {
  const verify = await verifyKey(key);
  apiKey.set(key);
  session = Promise.resolve({ state: 'signedIn', verify });
  resetLiveClients();
  return verify;
}

export function signOut(): void {
  apiKey.clear();
  session = undefined;
  resetLiveClients();
}
