/** GET /auth/verify (what a credential may do) and POST /auth/token (subscriber tokens for an API key with read). */
import { ApiErrors, ApiJsonBody, ApiJsonResponse } from '../common/openapi';
import { tokenRequestSchema } from '@data-streaming/protocol';
import { Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import { parseBody } from '../common/parse-body';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { Access } from '../common/access';
import { Credentials, bearer } from './credentials';
import { OPEN } from './principal';
import { TokenService } from './tokens';

const DASHBOARD_NAME = /^dashboard\.[a-z][a-z0-9_]{0,63}$/;

@ApiTags('auth')
@ApiBearerAuth()
@Controller('auth')
export class AuthController {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly credentials: Credentials,
    private readonly tokens: TokenService,
  ) {}

  @Get('verify')
  @Access('any')
  @ApiOperation({ summary: 'Checks the credential of the request: 401 when missing or wrong; its kind, scopes and channels' })
  @ApiJsonResponse(200, 'VerifyResponse', 'What the credential may do')
  @ApiErrors('unauthorized', 'invalid_token', 'token_expired')
  async verify(@Req() request: Request): Promise<Record<string, unknown>> {
    const principal = (await this.credentials.authenticate(bearer(request.headers.authorization))) ?? OPEN;
    return {
      valid: true,
      keys_required: this.credentials.required,
      kind: principal.kind,
      scopes: [...principal.scopes],
      ...(principal.channels ? { channels: principal.channels } : {}),
      ...(principal.expiresAt ? { expires_at: new Date(principal.expiresAt).toISOString() } : {}),
    };
  }

  @Post('token')
  @HttpCode(201)
  @Access('key')
  @ApiOperation({ summary: 'Issues a short-lived subscriber token (JWT) for the listed channels; needs an API key with read' })
  @ApiJsonBody('TokenRequest', 'e.g. {"channels": ["metrics_updates", "real_time_metrics"], "ttl": 900}')
  @ApiJsonResponse(201, 'TokenResponse', 'A subscriber token for the channels')
  @ApiErrors('invalid_token_request', 'bad_request', 'unauthorized', 'forbidden')
  async token(@Req() request: Request, @Body() body: unknown): Promise<Record<string, unknown>> {
    const asked = parseBody(
      tokenRequestSchema,
      body,
      'invalid_token_request',
      'expected {"channels": ["<channel or stream>", ...], "ttl": <seconds>}',
    );
    const known = this.readableNames();
    const unknown = asked.channels.filter((name) => name !== '*' && !known.has(name) && !DASHBOARD_NAME.test(name));
    if (unknown.length > 0) throw ApiError.badRequest(`unknown channels: ${unknown.join(', ').slice(0, 200)}`, { known: [...known] });
    const ttl = this.tokens.ttl(asked.ttl);
    const principal = (await this.credentials.authenticate(bearer(request.headers.authorization))) ?? OPEN;
    const { token, claims } = await this.tokens.issue(principal.id, asked.channels, ttl);
    return {
      token,
      token_type: 'Bearer',
      channels: claims.channels,
      expires_in: ttl,
      expires_at: new Date(claims.exp * 1000).toISOString(),
    };
  }

  /** What a token may name besides dashboards (`dashboard.<type>`): channels, SSE and high-frequency streams. */
  private readableNames(): Set<string> {
    const { websocket, sse, high_frequency_streams: highFrequency, real_time_notifications: notifications } = this.config;
    return new Set([
      ...websocket.channels,
      ...sse.streams,
      notifications.sse_stream,
      ...highFrequency.streams.map((name) => `high_frequency.${name}`),
    ]);
  }
}
