/** Access control for the whole service: credentials, subscriber tokens, rate limits, origins, the global guard. */
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MetricsModule } from '../metrics/metrics.module';
import { AccessControl } from './access-control';
import { AccessGuard } from './access.guard';
import { AuthController } from './auth.controller';
import { Credentials } from './credentials';
import { TokenService } from './tokens';

@Module({
  imports: [MetricsModule],
  controllers: [AuthController],
  providers: [TokenService, Credentials, AccessControl, { provide: APP_GUARD, useClass: AccessGuard }],
  exports: [Credentials, AccessControl, TokenService],
})
export class AuthModule {}
