import fc from 'fast-check';
import { ApiError } from '../common/api-error';
import { loadConfig } from '../config/config.loader';
import { TokenService } from './tokens';

const service = (secret = 'k'.repeat(40), ttl = 900): TokenService =>
  new TokenService(loadConfig({ env: {}, overrides: { auth: { token_secret: secret, token_ttl: ttl } } }));

const refusal = async (run: () => unknown): Promise<ApiError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('TokenService', () => {
  it('verifies what it issued, with the channels, subject and lifetime', async () => {
    const tokens = service();
    const now = Date.UTC(2026, 10, 26, 12);
    const { token, claims } = await tokens.issue('key:abc', ['metrics_updates', 'dashboard.system_health'], 60, now);
    expect(await tokens.verify(token, now + 59_000)).toEqual(claims);
    expect(claims).toMatchObject({ sub: 'key:abc', channels: ['metrics_updates', 'dashboard.system_health'], exp: claims.iat + 60 });
  });

  it('refuses an expired token with token_expired, and one from the future', async () => {
    const tokens = service();
    const now = Date.UTC(2026, 10, 26, 12);
    const { token } = await tokens.issue('s', ['*'], 60, now);
    expect((await refusal(() => tokens.verify(token, now + 60_000))).code).toBe('token_expired');
    expect((await refusal(() => tokens.verify(token, now - 120_000))).code).toBe('invalid_token');
    // Within the clock tolerance of its not-before, still valid.
    expect((await tokens.verify(token, now - 20_000)).sub).toBe('s');
  });

  it('refuses tokens of another secret, and any change to header, payload or signature', async () => {
    const tokens = service();
    const { token } = await tokens.issue('s', ['metrics_updates'], 60);
    expect((await refusal(() => service('z'.repeat(40)).verify(token))).code).toBe('invalid_token');
    const parts = token.split('.');
    for (let part = 0; part < 3; part++) {
      const changed = [...parts];
      const text = changed[part] as string;
      changed[part] = `${text.slice(0, 5)}${text[5] === 'A' ? 'B' : 'A'}${text.slice(6)}`;
      expect((await refusal(() => tokens.verify(changed.join('.')))).code).toBe('invalid_token');
    }
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${parts[1] ?? ''}.`;
    expect((await refusal(() => tokens.verify(none))).code).toBe('invalid_token');
  });

  it('refuses every other string with a 401, never another error (fast-check)', async () => {
    const tokens = service();
    const part = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.tuple(part, part, part).map((parts) => parts.join('.')),
        ),
        async (text) => {
          const error = await refusal(() => tokens.verify(text));
          return error.status === 401;
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('bounds the requested lifetime by token_max_ttl', async () => {
    const tokens = service();
    expect(tokens.ttl(undefined)).toBe(900);
    expect(tokens.ttl(30)).toBe(30);
    expect((await refusal(() => tokens.ttl(86_401))).status).toBe(400);
    expect((await refusal(() => tokens.ttl(-1))).status).toBe(400);
  });
});
