import {
  Controller,
  DynamicModule,
  FactoryProvider,
  Get,
  Headers,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  MiddlewareConsumer,
  Module,
  NestModule,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { timingSafeEqual, createHash } from 'node:crypto';
import { HealthCheck, runChecks } from './health';
import { collectProcessMetrics, metricsRegistry } from './metrics';
import { RequestContextMiddleware } from './request-context.middleware';

export interface ObservabilitySettings {
  /** Checks that must pass for the app to receive traffic (NATS connected, database answering). */
  readiness: HealthCheck[];
  /** Checks whose failure means the process should be restarted (e.g. the NATS connection closed for good). */
  liveness: HealthCheck[];
  /** When set, `/metrics` requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

export interface ObservabilityModuleOptions {
  app: string;
  imports?: DynamicModule['imports'];
  inject?: FactoryProvider['inject'];
  useFactory: (...deps: never[]) => ObservabilitySettings | Promise<ObservabilitySettings>;
}

const SETTINGS = Symbol('OBSERVABILITY_SETTINGS');

/**
 * Probe and metrics endpoints. They carry no tenant data and no secrets: the probes answer only
 * which checks failed, and `/metrics` is token-protected whenever a token is configured (always in
 * production, see the app configs).
 */
@Controller()
class ObservabilityController {
  constructor(@Inject(SETTINGS) private readonly settings: ObservabilitySettings) {}

  @Get('health/live')
  async live(@Res() res: Response): Promise<void> {
    const result = await runChecks(this.settings.liveness);
    res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ok' : 'failing', checks: result.checks });
  }

  @Get('health/ready')
  async ready(@Res() res: Response): Promise<void> {
    const result = await runChecks(this.settings.readiness);
    res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ok' : 'failing', checks: result.checks });
  }

  @Get('metrics')
  @HttpCode(200)
  async metrics(@Headers('authorization') authorization: string | undefined, @Res() res: Response) {
    const expected = this.settings.metricsToken;
    if (expected && !bearerMatches(authorization, expected)) {
      throw new HttpException(
        { code: 'unauthorized', message: 'metrics need a bearer token' },
        HttpStatus.UNAUTHORIZED,
      );
    }
    res.setHeader('Content-Type', metricsRegistry.contentType);
    res.send(await metricsRegistry.metrics());
  }
}

function bearerMatches(header: string | undefined, expected: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice(7) : '';
  // Hash both sides so the comparison is constant-time regardless of length.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

@Module({})
export class ObservabilityModule implements NestModule {
  static forRoot(options: ObservabilityModuleOptions): DynamicModule {
    collectProcessMetrics(options.app);
    return {
      module: ObservabilityModule,
      imports: options.imports ?? [],
      controllers: [ObservabilityController],
      providers: [{ provide: SETTINGS, inject: options.inject ?? [], useFactory: options.useFactory }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware).forRoutes('*path');
  }
}
