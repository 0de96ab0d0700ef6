import { Controller, Get, Inject } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import { API_CONFIG } from '../api.tokens';
import { buildOpenApiDocument } from './openapi.document';

/** `GET /docs`: the OpenAPI 3.1 document (JSON), built once from the endpoints' zod schemas. */
@Controller('docs')
export class OpenApiController {
  private readonly document: Record<string, unknown>;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.document = buildOpenApiDocument(config.PUBLIC_BASE_URL);
  }

  @Get()
  docs(): Record<string, unknown> {
    return this.document;
  }
}
