/**
 * The global guard: every HTTP route needs the read scope unless it says otherwise with @Access(...): a scope,
 * `public` (health, metrics), `any` (any valid credential), or `subscription` (SSE routes, which check the stream's
 * own rules when they open it). With no API keys configured, everything is open.
 */
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ACCESS_METADATA, type AccessRule } from '../common/access';
import { AccessControl } from './access-control';

@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessControl,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule =
      this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_METADATA, [context.getHandler(), context.getClass()]) ?? 'read';
    if (rule === 'public' || rule === 'subscription') return true;
    // Origins were checked before the framework, for every HTTP request (AccessControl.cors in app.factory.ts).
    const request = context.switchToHttp().getRequest<Request>();
    if (rule === 'key') await this.access.authorize(request, 'read', true);
    else await this.access.authorize(request, rule === 'any' ? undefined : rule);
    return true;
  }
}
