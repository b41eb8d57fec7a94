/** Route guard for HTTP handlers that need an API key; the check itself lives in ApiKeys. */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { ApiKeys } from './api-keys';

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    this.keys.check(context.switchToHttp().getRequest<Request>().header('authorization'));
    return true;
  }
}
