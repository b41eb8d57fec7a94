import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { Access } from '../auth/access.guard';
import { AccessControl } from '../auth/access-control';
import { ApiError } from '../common/api-error';
import { eventSchema } from './event.schema';
import { IngestService, idempotencyKeyOf, type AcceptResult } from './ingest.service';

const exampleEvent = z.toJSONSchema(eventSchema(['metrics_updates', 'system_alerts', 'business_events', 'performance_data']));

@ApiTags('ingest')
@Controller('events')
export class EventsController {
  constructor(
    private readonly ingest: IngestService,
    private readonly access: AccessControl,
  ) {}

  @Post()
  @HttpCode(202)
  @Access('publish')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Publish one event or an array of events; accepted whole or refused whole' })
  @ApiBody({ schema: { oneOf: [exampleEvent, { type: 'array', items: exampleEvent }] } as never })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Publish once: a retry with the same key within service.idempotency_window gets the same ids',
  })
  @ApiResponse({ status: 202, description: '{"accepted": N, "ids": ["epoch:offset", ...]} in request order' })
  @ApiResponse({ status: 400, description: 'Malformed JSON or an invalid event; details.problems lists each one' })
  @ApiResponse({ status: 401, description: 'Missing or unknown API key' })
  @ApiResponse({ status: 409, description: 'A request with this Idempotency-Key is still being processed (Retry-After)' })
  @ApiResponse({ status: 413, description: 'Body larger than service.max_body_bytes' })
  @ApiResponse({ status: 422, description: 'The Idempotency-Key was used for a different request' })
  @ApiResponse({ status: 503, description: 'The channel history cannot be written now; nothing was accepted (Retry-After)' })
  async publish(@Req() request: Request, @Res({ passthrough: true }) response: Response, @Body() body: unknown): Promise<AcceptResult> {
    if (!request.is('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', 'send events as application/json');
    }
    // The guard checked the credential; its principal scopes the idempotency key (not counted twice: see principal()).
    const principal = this.access.principal(request);
    const idempotencyKey = idempotencyKeyOf(request.headers);
    const { result, replayed } = await this.ingest.acceptBody(body, {
      principal,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    if (replayed) response.setHeader('Idempotent-Replayed', 'true');
    return result;
  }
}
