import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { z } from 'zod';
import { Access } from '../auth/access.guard';
import { ApiError } from '../common/api-error';
import { eventSchema } from './event.schema';
import { IngestService, type AcceptResult } from './ingest.service';

const exampleEvent = z.toJSONSchema(eventSchema(['metrics_updates', 'system_alerts', 'business_events', 'performance_data']));

@ApiTags('ingest')
@Controller('events')
export class EventsController {
  constructor(private readonly ingest: IngestService) {}

  @Post()
  @HttpCode(202)
  @Access('publish')
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Publish one event or an array of events; accepted whole or refused whole' })
  @ApiBody({ schema: { oneOf: [exampleEvent, { type: 'array', items: exampleEvent }] } as never })
  @ApiResponse({ status: 202, description: '{"accepted": N, "ids": ["epoch:offset", ...]} in request order' })
  @ApiResponse({ status: 400, description: 'Malformed JSON or an invalid event; details.problems lists each one' })
  @ApiResponse({ status: 401, description: 'Missing or unknown API key' })
  @ApiResponse({ status: 413, description: 'Body larger than service.max_body_bytes' })
  publish(@Req() request: Request, @Body() body: unknown): Promise<AcceptResult> {
    if (!request.is('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', 'send events as application/json');
    }
    return this.ingest.acceptBody(body);
  }
}
