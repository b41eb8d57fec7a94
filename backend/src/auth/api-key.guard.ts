/**
 * `Authorization: Bearer <key>` against the configured API keys (DATA_STREAMING_API_KEYS), compared in constant
 * time. With no keys configured the service is open; production refuses to start that way (see main.ts).
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(@InjectConfig() config: AppConfig) {
    this.keys = config.auth.api_keys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.keys.length === 0) return true;
    const header = context.switchToHttp().getRequest<Request>().header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const challenge = { 'WWW-Authenticate': 'Bearer realm="data-streaming-api"' };
    if (!match) throw new ApiError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>', undefined, challenge);
    const candidate = digest(match[1] as string);
    // Compare against every key so the time does not depend on which key matched.
    const known = this.keys.reduce((found, key) => timingSafeEqual(key, candidate) || found, false);
    if (!known) throw new ApiError(401, 'unauthorized', 'the API key is not valid', undefined, challenge);
    return true;
  }
}
