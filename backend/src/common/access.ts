/**
 * How a route is protected, as metadata every feature can set without depending on auth/ (which enforces it: the
 * global AccessGuard). `@Access(...)`: a scope, `public` (health, metrics), `any` (any valid credential),
 * `subscription` (SSE routes, which check the stream's own rules when they open it), or `key` (read scope, and only
 * an API key will do, not a token). Without it a route needs the read scope.
 */
import { SetMetadata } from '@nestjs/common';

/** What an API key may do. */
export type Scope = 'publish' | 'read' | 'admin';
export const SCOPES: readonly Scope[] = ['publish', 'read', 'admin'];

export type AccessRule = Scope | 'public' | 'any' | 'subscription' | 'key';
export const ACCESS_METADATA = 'access';

export const Access = (rule: AccessRule): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_METADATA, rule);
