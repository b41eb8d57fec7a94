import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Access } from '../common/access';
import { AccessControl } from '../auth/access-control';
import { ApiError } from '../common/api-error';
import { ApiErrors, ApiJsonBody, ApiJsonResponse, schemaRef } from '../common/openapi';
import { IngestService, idempotencyKeyOf, type AcceptResult } from './ingest.service';

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
  @ApiJsonBody('PublishEvent', 'one event, or an array of at most service.max_batch_events', {
    oneOf: [schemaRef('PublishEvent'), { type: 'array', items: schemaRef('PublishEvent') }],
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Publish once: a retry with the same key within service.idempotency_window gets the same ids',
  })
  @ApiJsonResponse(202, 'PublishResponse', 'Accepted: the ids (epoch:offset) in request order, in the history before this answer')
  @ApiErrors(
    'malformed_json',
    'invalid_event',
    'too_deep',
    'invalid_utf8',
    'invalid_idempotency_key',
    'unauthorized',
    'forbidden',
    'idempotency_key_in_use',
    'payload_too_large',
    'unsupported_media_type',
    'idempotency_key_reused',
    'too_many_requests',
    'overloaded',
    'history_unavailable',
  )
  async publish(@Req() request: Request, @Res({ passthrough: true }) response: Response, @Body() body: unknown): Promise<AcceptResult> {
    if (!request.is('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', 'send events as application/json');
    }
    // The guard checked the credential; its principal scopes the idempotency key (not counted twice: see principal()).
    const principal = await this.access.principal(request);
    const idempotencyKey = idempotencyKeyOf(request.headers);
    const { result, replayed } = await this.ingest.acceptBody(body, {
      principal,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    if (replayed) response.setHeader('Idempotent-Replayed', 'true');
    return result;
  }
}
