/** Credentials: subscriber tokens (POST /auth/token) and what a credential may do (GET /auth/verify). */
import { z } from 'zod';
import { isoTime } from './events.js';

export const SCOPES = ['publish', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** POST /auth/token: the channels or streams the token grants (`*` for all, `dashboard.<type>`), and its life. */
export const tokenRequestSchema = z.strictObject({
  channels: z.array(z.string().min(1).max(128)).min(1).max(256),
  /** Seconds; the service's auth.token_ttl when absent, at most auth.token_max_ttl. */
  ttl: z.number().positive().optional(),
});
export type TokenRequest = z.infer<typeof tokenRequestSchema>;

/** 201 of POST /auth/token. */
export const tokenResponseSchema = z.strictObject({
  token: z.string(),
  token_type: z.literal('Bearer'),
  channels: z.array(z.string()),
  expires_in: z.number().positive(),
  expires_at: isoTime,
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** GET /auth/verify. */
export const verifyResponseSchema = z.strictObject({
  valid: z.literal(true),
  keys_required: z.boolean(),
  kind: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  channels: z.array(z.string()).optional(),
  expires_at: isoTime.optional(),
});
export type VerifyResponse = z.infer<typeof verifyResponseSchema>;
