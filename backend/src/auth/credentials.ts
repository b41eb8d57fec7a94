/**
 * Resolves a credential (an API key or a subscriber token, as a Bearer value) to a Principal and checks what it may
 * do. API keys (DATA_STREAMING_API_KEYS) are `<key>` (every scope) or `<key>:<scope>+<scope>`, compared by SHA-256
 * digest in constant time. With no keys configured the service is open (development; production refuses to start).
 */
import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { OPEN, SCOPES, type Principal, type Scope } from './principal';
import { TokenService, looksLikeToken } from './tokens';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="data-streaming-api"' };

interface KeyEntry {
  digest: Buffer;
  principal: Principal;
}

/** The Bearer value of an Authorization header, if it has one. */
export function bearer(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

@Injectable()
export class Credentials {
  private readonly keys: KeyEntry[];
  private readonly publicChannels: ReadonlySet<string>;

  constructor(
    @InjectConfig() config: AppConfig,
    private readonly tokens: TokenService,
  ) {
    this.keys = config.auth.api_keys.map((entry, index) => {
      const [key, scopeList] = entry.split(':') as [string, string | undefined];
      const scopes = new Set<Scope>(scopeList === undefined ? SCOPES : (scopeList.split('+') as Scope[]));
      // The id names the key by its place in the configuration: it goes into tokens and logs, so nothing of the key.
      return { digest: digest(key), principal: { id: `key:${index + 1}`, kind: 'key', scopes } };
    });
    this.publicChannels = new Set(config.auth.public_channels);
  }

  /** True when API keys are configured, so calls need credentials. */
  get required(): boolean {
    return this.keys.length > 0;
  }

  /** The principal of an API key (OPEN when no keys are configured); undefined when none matches. */
  private keyPrincipal(credential: string): Principal | undefined {
    const candidate = digest(credential);
    // Compare against every key so the time does not depend on which key matched.
    let found: Principal | undefined;
    for (const key of this.keys) if (timingSafeEqual(key.digest, candidate)) found = key.principal;
    return found;
  }

  /**
   * The principal of a Bearer value: undefined when none was given (or none is needed), a 401 ApiError when it is
   * not a known key or a valid token.
   */
  async authenticate(credential: string | undefined): Promise<Principal | undefined> {
    if (!this.required) return OPEN;
    if (credential === undefined || credential === '') return undefined;
    const key = this.keyPrincipal(credential);
    if (key) return key;
    if (looksLikeToken(credential)) {
      const claims = await this.tokens.verify(credential);
      return {
        id: `token:${claims.sub}`,
        kind: 'token',
        scopes: new Set(['read']),
        channels: claims.channels,
        expiresAt: claims.exp * 1000,
      };
    }
    throw new ApiError(401, 'unauthorized', 'the API key is not valid', undefined, CHALLENGE);
  }

  /**
   * An HTTP call that needs `scope` (any valid credential when undefined): 401 without valid credentials, 403 with
   * credentials that lack it (or with a token where only an API key will do).
   */
  async authorize(credential: string | undefined, scope: Scope | undefined, keysOnly = false): Promise<Principal> {
    return this.permits(await this.authenticate(credential), scope, keysOnly);
  }

  /**
   * As `authorize`, at once, for the lean publish path: undefined when the credential is to be checked as a subscriber
   * token (the shape of a JWT and not one of the keys, which come first: a key may contain two dots), which only
   * `authorize` does (asynchronously). Each key is compared once either way.
   */
  authorizeKey(credential: string | undefined, scope: Scope | undefined): Principal | undefined {
    if (!this.required || credential === undefined || credential === '') {
      return this.permits(this.required ? undefined : OPEN, scope, false);
    }
    const key = this.keyPrincipal(credential);
    if (key) return this.permits(key, scope, false);
    if (looksLikeToken(credential)) return undefined;
    throw new ApiError(401, 'unauthorized', 'the API key is not valid', undefined, CHALLENGE);
  }

  private permits(principal: Principal | undefined, scope: Scope | undefined, keysOnly: boolean): Principal {
    if (!principal) {
      throw new ApiError(401, 'unauthorized', 'credentials are required: Authorization: Bearer <API key>', undefined, CHALLENGE);
    }
    if (keysOnly && principal.kind === 'token') throw forbidden('this call needs an API key, not a subscriber token', scope, principal);
    if (scope !== undefined && !principal.scopes.has(scope)) throw forbidden(`this credential lacks the ${scope} scope`, scope, principal);
    return principal;
  }

  /**
   * A subscription to a stream known by any of `names` (its path name and the bus channel behind it). Public
   * channels need nothing; otherwise a key with the read scope, or a token whose channels include one of the names.
   */
  async authorizeSubscription(credential: string | undefined, names: readonly string[]): Promise<Principal | undefined> {
    const principal = await this.authenticate(credential);
    if (!principal) {
      if (names.some((name) => this.publicChannels.has(name))) return undefined;
      throw new ApiError(401, 'unauthorized', 'this stream needs credentials: an API key or a subscriber token', undefined, CHALLENGE);
    }
    if (!principal.scopes.has('read')) throw forbidden('this credential lacks the read scope', 'read', principal);
    const allowed = principal.channels;
    if (allowed && !allowed.includes('*') && !names.some((name) => allowed.includes(name))) {
      throw new ApiError(403, 'forbidden', `the token does not grant ${names[0] ?? 'this stream'}`, { granted: allowed });
    }
    return principal;
  }
}

function forbidden(message: string, scope: Scope | undefined, principal: Principal): ApiError {
  return new ApiError(403, 'forbidden', message, { ...(scope ? { required: scope } : {}), scopes: [...principal.scopes] });
}
