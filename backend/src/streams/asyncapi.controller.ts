/** GET /asyncapi.json: the AsyncAPI 3.0 document of the streaming API, built once for this configuration. */
import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../common/access';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { SERVICE_VERSION } from '../common/version';
import { asyncApiDocument } from './asyncapi';

@ApiTags('docs')
@Access('public')
@Controller('asyncapi.json')
export class AsyncApiController {
  private readonly document: Record<string, unknown>;

  constructor(@InjectConfig() config: AppConfig) {
    this.document = asyncApiDocument(config, SERVICE_VERSION);
  }

  @Get()
  @ApiOperation({ summary: 'The AsyncAPI 3.0 document of the WebSocket channels and SSE streams' })
  get(): Record<string, unknown> {
    return this.document;
  }
}
