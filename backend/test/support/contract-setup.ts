/**
 * Installed for every suite (jest setupFilesAfterEnv): `fetch` answers from the services under test are checked
 * against the protocol before the test sees them, and a test during which a WebSocket frame or SSE event broke the
 * protocol fails after it ran (support/contract.ts).
 */
import { checkBody, checkedPorts, violations } from './contract';

const original = globalThis.fetch;

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const response = await original(input, init);
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  if (!checkedPorts.has(Number(url.port)) || method === 'HEAD' || !/\bjson\b/.test(response.headers.get('content-type') ?? ''))
    return response;
  const text = await response.clone().text();
  checkBody(method, url.pathname, response.status, text === '' ? undefined : JSON.parse(text));
  return response;
};

beforeEach(() => {
  violations.length = 0;
});

afterEach(() => {
  if (violations.length > 0) {
    const found = violations.splice(0);
    throw new Error(`${found.length} frame(s) or event(s) broke the protocol:\n${found.slice(0, 5).join('\n')}`);
  }
});
