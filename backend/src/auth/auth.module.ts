import { Global, Module } from '@nestjs/common';
import { ApiKeys } from './api-keys';
import { AuthController } from './auth.controller';

@Global()
@Module({ controllers: [AuthController], providers: [ApiKeys], exports: [ApiKeys] })
export class AuthModule {}
