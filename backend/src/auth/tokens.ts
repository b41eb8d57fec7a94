/**
 * Subscriber tokens: short-lived JWTs (RFC 7519, HS256 only) whose `channels` claim lists what the bearer may read.
 * Issued by POST /auth/token to an API key with the read scope; accepted on WebSocket and SSE subscriptions.
 *
 * Verification trusts nothing in the token before its signature is checked: the header must say exactly HS256 (no
 * `none`, no algorithm switch), the signature is compared in constant time, sizes are bounded, and the claims are
 * checked for type, issuer, expiry and not-before.
 */
import { Injectable, Logger } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';

const TOKEN_ISSUER = 'data-streaming-api';
const MAX_TOKEN_CHARS = 4096;
const MAX_CHANNELS = 256;
const CLOCK_SKEW_S = 30;
const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface TokenClaims {
  iss: string;
  sub: string;
  channels: string[];
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
}

function base64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

const invalid = (message: string): ApiError =>
  new ApiError(401, 'invalid_token', message, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

/** True when the text has the shape of a JWT (three base64url parts); API keys are told apart this way. */
export const looksLikeToken = (text: string): boolean => text.split('.').length === 3;

@Injectable()
export class TokenService {
  private readonly secret: Buffer;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    const configured = config.auth.token_secret;
    this.secret = configured === '' ? randomBytes(32) : Buffer.from(configured);
    if (configured === '' && config.auth.api_keys.length > 0) {
      new Logger(TokenService.name).warn(
        'No DATA_STREAMING_TOKEN_SECRET: subscriber tokens are signed with a random secret and valid on this process only',
      );
    }
  }

  issue(subject: string, channels: readonly string[], ttlSeconds: number, now = Date.now()): { token: string; claims: TokenClaims } {
    const iat = Math.floor(now / 1000);
    const claims: TokenClaims = {
      iss: TOKEN_ISSUER,
      sub: subject,
      channels: [...channels],
      iat,
      nbf: iat,
      // Rounded up: a token lives at least its lifetime, whatever the fraction of the current second.
      exp: Math.ceil(now / 1000 + ttlSeconds),
      jti: randomUUID(),
    };
    const body = `${HEADER}.${base64url(JSON.stringify(claims))}`;
    return { token: `${body}.${this.sign(body)}`, claims };
  }

  /** The token's claims; throws a 401 ApiError (`invalid_token` or `token_expired`) for anything else. */
  verify(token: string, now = Date.now()): TokenClaims {
    if (token.length > MAX_TOKEN_CHARS) throw invalid('the token is too long');
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) throw invalid('the token is not a JWT');
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`), 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('the token signature is not valid');
    const head = parseJson(header);
    if (head?.alg !== 'HS256') throw invalid('the token must be signed with HS256');
    const claims = parseJson(payload);
    if (
      !claims ||
      claims.iss !== TOKEN_ISSUER ||
      typeof claims.sub !== 'string' ||
      typeof claims.exp !== 'number' ||
      typeof claims.iat !== 'number' ||
      typeof claims.nbf !== 'number' ||
      typeof claims.jti !== 'string' ||
      !Array.isArray(claims.channels) ||
      claims.channels.length > MAX_CHANNELS ||
      !claims.channels.every((channel) => typeof channel === 'string')
    ) {
      throw invalid('the token claims are not valid');
    }
    const seconds = now / 1000;
    if (claims.nbf > seconds + CLOCK_SKEW_S) throw invalid('the token is not valid yet');
    if (claims.exp <= seconds) {
      throw new ApiError(401, 'token_expired', 'the token has expired; ask POST /auth/token for a new one', undefined, {
        'WWW-Authenticate': 'Bearer error="invalid_token", error_description="expired"',
      });
    }
    return claims as unknown as TokenClaims;
  }

  /** Checks the requested lifetime against token_max_ttl; the default is token_ttl. */
  ttl(requested: number | undefined): number {
    const { token_ttl: fallback, token_max_ttl: max } = this.config.auth;
    if (requested === undefined) return Math.min(fallback, max);
    if (!Number.isFinite(requested) || requested <= 0 || requested > max) {
      throw ApiError.badRequest(`ttl: expected seconds from 1 to ${max} (auth.token_max_ttl)`);
    }
    return requested;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
