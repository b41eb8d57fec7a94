import { Controller, Get, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeys } from './api-keys';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly keys: ApiKeys) {}

  @Get('verify')
  @UseGuards(ApiKeyGuard)
  @ApiBearerAuth()
  @ApiOperation({ summary: 'Checks the API key of the request (401 when a key is required and this one is missing or wrong)' })
  verify(): { valid: true; keys_required: boolean } {
    return { valid: true, keys_required: this.keys.required };
  }
}
