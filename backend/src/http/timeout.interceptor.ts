/** Bounds every HTTP handler by the request timeout (DATA_STREAMING_TIMEOUT); streaming handlers return at once. */
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { TimeoutError, catchError, throwError, timeout, type Observable } from 'rxjs';
import { ApiError } from '../common/api-error';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';

@Injectable()
export class TimeoutInterceptor implements NestInterceptor {
  private readonly ms: number;

  constructor(@InjectConfig() config: AppConfig) {
    this.ms = config.service.request_timeout * 1000;
  }

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(this.ms),
      catchError((error: unknown) =>
        throwError(() => (error instanceof TimeoutError ? new ApiError(504, 'request_timeout', `no answer within ${this.ms} ms`) : error)),
      ),
    );
  }
}
