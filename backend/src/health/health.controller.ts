/** GET /health: healthy, degraded (200, with reasons) or unhealthy (503); see HealthService. */
import type { Health } from '@data-streaming/protocol';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from '../common/access';
import { ApiJsonResponse } from '../common/openapi';
import { HealthService } from './health.service';

@ApiTags('health')
@Access('public')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Service health: healthy, degraded (with reasons) or unhealthy (503)' })
  @ApiJsonResponse(200, 'Health', 'healthy, or degraded with reasons')
  @ApiJsonResponse(503, 'Health', 'unhealthy: the service cannot stream (or is shutting down)')
  async check(@Res({ passthrough: true }) response: Response): Promise<Health> {
    const health = await this.health.report();
    if (health.status === 'unhealthy') response.status(503);
    return health;
  }
}
