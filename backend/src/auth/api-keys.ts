/**
 * The configured API keys (DATA_STREAMING_API_KEYS), checked from an `Authorization: Bearer <key>` header in
 * constant time. With no keys configured the service is open; production refuses to start that way (see main.ts).
 */
import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="data-streaming-api"' };

@Injectable()
export class ApiKeys {
  private readonly keys: Buffer[];

  constructor(@InjectConfig() config: AppConfig) {
    this.keys = config.auth.api_keys.map(digest);
  }

  get required(): boolean {
    return this.keys.length > 0;
  }

  /** Throws a 401 ApiError unless the header carries a configured key (or no keys are configured). */
  check(authorization: string | undefined): void {
    if (this.keys.length === 0) return;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw new ApiError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>', undefined, CHALLENGE);
    const candidate = digest(match[1] as string);
    // Compare against every key so the time does not depend on which key matched.
    const known = this.keys.reduce((found, key) => timingSafeEqual(key, candidate) || found, false);
    if (!known) throw new ApiError(401, 'unauthorized', 'the API key is not valid', undefined, CHALLENGE);
  }
}
