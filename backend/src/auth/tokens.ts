/**
 * Subscriber tokens: short-lived JWTs (RFC 7519, HS256 only) whose `channels` claim lists what the bearer may read.
 * Issued by POST /auth/token to an API key with the read scope; accepted on WebSocket and SSE subscriptions.
 *
 * Signing and verification are jose's (the well-kept JOSE library): the algorithm is pinned to HS256 (no `none`, no
 * switch), the issuer, expiry and not-before are checked with a 30 s clock tolerance; the claims are then read by a
 * schema, so nothing is cast. Sizes are bounded before anything is parsed.
 */
import { Injectable, Logger } from '@nestjs/common';
import { SignJWT, errors, jwtVerify } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';

const TOKEN_ISSUER = 'data-streaming-api';
const MAX_TOKEN_CHARS = 4096;
const MAX_CHANNELS = 256;
const CLOCK_SKEW_S = 30;

const claimsSchema = z.object({
  iss: z.literal(TOKEN_ISSUER),
  sub: z.string(),
  channels: z.array(z.string()).max(MAX_CHANNELS),
  iat: z.number(),
  nbf: z.number(),
  exp: z.number(),
  jti: z.string(),
});
export type TokenClaims = z.infer<typeof claimsSchema>;

const invalid = (message: string): ApiError =>
  new ApiError(401, 'invalid_token', message, undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

const expired = (): ApiError =>
  new ApiError(401, 'token_expired', 'the token has expired; ask POST /auth/token for a new one', undefined, {
    'WWW-Authenticate': 'Bearer error="invalid_token", error_description="expired"',
  });

/** True when the text has the shape of a JWT (three base64url parts); API keys are told apart this way. */
export function looksLikeToken(text: string): boolean {
  const first = text.indexOf('.');
  const second = first < 0 ? -1 : text.indexOf('.', first + 1);
  return second >= 0 && text.indexOf('.', second + 1) < 0;
}

@Injectable()
export class TokenService {
  private readonly secret: Uint8Array;

  constructor(@InjectConfig() private readonly config: AppConfig) {
    const configured = config.auth.token_secret;
    this.secret = configured === '' ? randomBytes(32) : new TextEncoder().encode(configured);
    if (configured === '' && config.auth.api_keys.length > 0) {
      new Logger(TokenService.name).warn(
        'No DATA_STREAMING_TOKEN_SECRET: subscriber tokens are signed with a random secret and valid on this process only',
      );
    }
  }

  async issue(
    subject: string,
    channels: readonly string[],
    ttlSeconds: number,
    now = Date.now(),
  ): Promise<{ token: string; claims: TokenClaims }> {
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
    const token = await new SignJWT({ channels: claims.channels })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(claims.iss)
      .setSubject(claims.sub)
      .setIssuedAt(claims.iat)
      .setNotBefore(claims.nbf)
      .setExpirationTime(claims.exp)
      .setJti(claims.jti)
      .sign(this.secret);
    return { token, claims };
  }

  /** The token's claims; rejects with a 401 ApiError (`invalid_token` or `token_expired`) for anything else. */
  async verify(token: string, now = Date.now()): Promise<TokenClaims> {
    if (token.length > MAX_TOKEN_CHARS) throw invalid('the token is too long');
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'iat', 'nbf', 'exp', 'jti'],
      }));
    } catch (error) {
      // Expiry gets no tolerance: a token is refused from its `exp` on, so a renewal before it always works.
      if (error instanceof errors.JWTExpired) throw expired();
      if (error instanceof errors.JWSSignatureVerificationFailed) throw invalid('the token signature is not valid');
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf') throw invalid('the token is not valid yet');
      if (error instanceof errors.JOSEAlgNotAllowed) throw invalid('the token must be signed with HS256');
      if (error instanceof errors.JOSEError || error instanceof TypeError) throw invalid('the token is not a valid JWT');
      throw error;
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw invalid('the token claims are not valid');
    if (claims.data.exp <= now / 1000) throw expired();
    return claims.data;
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
}
