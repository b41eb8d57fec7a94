import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { ApiKeyGuard } from './api-key.guard';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  @Get('verify')
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Checks the API key of the request (401 when a key is required and this one is missing or wrong)' })
  verify(): { valid: true; keys_required: boolean } {
    return { valid: true, keys_required: this.config.auth.api_keys.length > 0 };
  }
}
