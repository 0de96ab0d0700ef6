import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiError } from '../http/api-error';
import { parseInput } from '../http/zod-input';
import { ApiKeyService } from './api-key.service';
import { AdminOnly } from './auth.decorators';
import { apiKeyIdParamsSchema, createApiKeySchema } from './auth.schemas';

/** Operator key management (admin only). A key is shown once, at creation; only its hash is stored. */
@Controller('api/keys')
@AdminOnly()
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown) {
    const input = parseInput(createApiKeySchema, body, 'body');
    const { key, summary } = await this.keys.create({
      scope: input.scope,
      locationId: input.locationId ?? null,
      label: input.label ?? null,
    });
    return { key, apiKey: summary };
  }

  @Get()
  async list() {
    return { apiKeys: await this.keys.list() };
  }

  @Delete(':id')
  async revoke(@Param() params: unknown) {
    const { id } = parseInput(apiKeyIdParamsSchema, params, 'path');
    const revoked = await this.keys.revoke(id);
    if (!revoked) throw ApiError.notFound('api_key_not_found', 'no API key has this id');
    return { apiKey: revoked };
  }
}
