/**
 * The global guard: every HTTP route needs the read scope unless it says otherwise with @Access(...): a scope,
 * `public` (health, metrics), `any` (any valid credential), or `subscription` (SSE routes, which check the stream's
 * own rules when they open it). With no API keys configured, everything is open.
 */
import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AccessControl } from './access-control';
import type { Scope } from './principal';

export type AccessRule = Scope | 'public' | 'any' | 'subscription' | 'key';
const ACCESS = 'access';

/** How a route is protected; see AccessGuard. `key`: read scope, and only an API key will do (not a token). */
export const Access = (rule: AccessRule): MethodDecorator & ClassDecorator => SetMetadata(ACCESS, rule);

@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: AccessControl,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const rule = this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS, [context.getHandler(), context.getClass()]) ?? 'read';
    if (rule === 'public' || rule === 'subscription') return true;
    // Origins were checked before the framework, for every HTTP request (AccessControl.cors in app.factory.ts).
    const request = context.switchToHttp().getRequest<Request>();
    if (rule === 'key') this.access.authorize(request, 'read', true);
    else this.access.authorize(request, rule === 'any' ? undefined : rule);
    return true;
  }
}
