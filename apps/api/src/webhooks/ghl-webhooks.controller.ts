import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { ApiConfig } from '@app/config';
import { ContractViolation } from '@app/contracts';
import { BusUnavailableError, EventBus } from '@app/messaging';
import { currentCorrelationId } from '@app/observability';
import type { Logger } from 'pino';
import { API_CONFIG, API_LOGGER } from '../api.tokens';
import { ApiError } from '../http/api-error';
import type { RawBodyRequest } from '../http/http-edge';
import { parseInput } from '../http/zod-input';
import { LocationReadRepository } from '../locations/location-read.repository';
import {
  e164OrNull,
  installWebhookSchema,
  otherWebhookSchema,
  providerOutboundSchema,
  uninstallWebhookSchema,
} from './ghl-webhook.schemas';
import { InstallationLifecycleService, type LifecycleResult } from './installation-lifecycle.service';
import { ED25519_HEADER, RSA_HEADER, WebhookSignatureVerifier } from './webhook-signature.verifier';

// GHL retries only a 429 (six times, ~10 minutes apart, GHL-CONTRACT §6.3): every failure that waiting
// can fix must answer 429, never 5xx, or the event is lost.
const RETRY_AFTER_SECONDS = 60;

/**
 * GHL → us. Marketplace webhooks (INSTALL, UNINSTALL, others acknowledged) at `/webhooks/ghl`, and the
 * conversation provider's outbound messages at `/webhooks/ghl/provider`. Signatures are checked over
 * the raw bytes; replays are refused by timestamp window and webhook id.
 */
@Controller('webhooks/ghl')
export class GhlWebhooksController {
  private readonly logger: Logger;

  constructor(
    private readonly verifier: WebhookSignatureVerifier,
    private readonly lifecycle: InstallationLifecycleService,
    private readonly bus: EventBus,
    private readonly reads: LocationReadRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'ghl-webhooks' });
  }

  @Post()
  @HttpCode(200)
  async marketplace(@Req() req: RawBodyRequest) {
    const raw = this.rawOf(req);
    if (!this.verifier.hasKeys) {
      throw new ApiError(
        401,
        'webhook_signature_unverifiable',
        'no GHL webhook public key is configured (GHL_WEBHOOK_PUBLIC_KEY_ED25519 / _RSA); unsigned install webhooks are refused',
      );
    }
    const scheme = this.requireSignature(req, raw);
    const body = this.json(raw);
    const { type } = parseInput(otherWebhookSchema, body, 'body');
    let result: LifecycleResult;
    switch (type) {
      case 'INSTALL': {
        const hook = parseInput(installWebhookSchema, body, 'body');
        this.checkTimestamp(hook.timestamp);
        result = await this.retryable(() => this.lifecycle.install(hook));
        break;
      }
      case 'UNINSTALL': {
        const hook = parseInput(uninstallWebhookSchema, body, 'body');
        this.checkTimestamp(hook.timestamp);
        result = await this.retryable(() => this.lifecycle.uninstall(hook));
        break;
      }
      default:
        this.checkTimestamp(parseInput(otherWebhookSchema, body, 'body').timestamp);
        result = { action: 'ignored', locationIds: [] };
    }
    this.logger.info({ type, scheme, ...result }, 'GHL webhook handled');
    return { received: true, type, ...result };
  }

  /** ProviderOutboundMessage: put it on the bus durably and answer at once; sync sends it over WhatsApp. */
  @Post('provider')
  @HttpCode(200)
  async providerOutbound(@Req() req: RawBodyRequest) {
    const raw = this.rawOf(req);
    const signature = this.verifier.check(raw, this.signatureHeaders(req));
    if (!signature.ok) {
      const unsignedAllowed =
        signature.reason === 'missing' &&
        (this.config.GHL_PROVIDER_SIGNATURE === 'optional' || !this.verifier.hasKeys);
      if (!unsignedAllowed) this.refuseSignature(signature.reason);
    }
    const message = parseInput(providerOutboundSchema, this.json(raw), 'body');
    this.checkTimestamp(message.timestamp);
    const status = await this.retryable(() => this.reads.installationStatus(message.locationId));
    if (status === null || status === 'uninstalled') {
      throw ApiError.notFound('location_not_installed', 'the app is not installed for this location');
    }
    const id = `ghl-out:${message.locationId}:${message.messageId}`;
    try {
      const published = await this.bus.publish(
        'ghl.outbound_requested',
        message.locationId,
        {
          ghlMessageId: message.messageId,
          contactId: message.contactId,
          conversationId: message.conversationId ?? null,
          phone: e164OrNull(message.phone),
          message: message.message ?? null,
          attachments: message.attachments ?? [],
          userId: message.userId ?? null,
          providerType: message.type,
        },
        { id, correlationId: currentCorrelationId() },
      );
      return {
        received: true,
        type: 'ProviderOutboundMessage',
        action: published.duplicate ? 'duplicate' : 'queued',
        locationIds: [message.locationId],
      };
    } catch (err) {
      if (err instanceof ContractViolation) {
        throw ApiError.badRequest('invalid_request', err.message, err.issues);
      }
      if (err instanceof BusUnavailableError) throw tryLater('the message bus is not answering');
      throw err;
    }
  }

  private rawOf(req: RawBodyRequest): Buffer {
    if (!req.rawBody || req.rawBody.length === 0)
      throw ApiError.badRequest('invalid_request', 'the body is empty');
    return req.rawBody;
  }

  private json(raw: Buffer): unknown {
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw ApiError.badRequest('invalid_json', 'the body is not valid JSON');
    }
  }

  private signatureHeaders(req: RawBodyRequest) {
    return { ed25519: req.header(ED25519_HEADER), rsa: req.header(RSA_HEADER) };
  }

  private requireSignature(req: RawBodyRequest, raw: Buffer): 'ed25519' | 'rsa' {
    const check = this.verifier.check(raw, this.signatureHeaders(req));
    if (check.ok) return check.scheme;
    return this.refuseSignature(check.reason);
  }

  private refuseSignature(reason: 'missing' | 'invalid' | 'no_key'): never {
    this.logger.warn({ reason }, 'GHL webhook refused: signature');
    switch (reason) {
      case 'missing':
        throw new ApiError(
          401,
          'missing_signature',
          `a signed webhook is required (${ED25519_HEADER} or ${RSA_HEADER})`,
        );
      case 'invalid':
        throw new ApiError(401, 'invalid_signature', 'the webhook signature does not match its body');
      case 'no_key':
        throw new ApiError(
          401,
          'webhook_signature_unverifiable',
          'no public key is configured for the signature sent',
        );
    }
  }

  /** GHL's replay window: a webhook too far from our clock (either way) is refused. */
  private checkTimestamp(timestamp: string | undefined): void {
    if (timestamp === undefined) return;
    const skew = Math.abs(Date.now() - Date.parse(timestamp));
    if (skew > this.config.WEBHOOK_MAX_AGE) {
      throw new ApiError(
        400,
        'webhook_too_old',
        `the webhook timestamp is ${Math.round(skew / 1000)} s away from now (at most ${this.config.WEBHOOK_MAX_AGE / 1000} s)`,
      );
    }
  }

  /** Runs the work; a failure that is not the caller's fault becomes 429 so GHL sends the webhook again. */
  private async retryable<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      this.logger.error({ err }, 'GHL webhook could not be processed now; asking GHL to retry');
      throw tryLater('the webhook could not be processed right now');
    }
  }
}

function tryLater(why: string): ApiError {
  return new ApiError(429, 'retry_later', `${why}; GHL will retry`, {
    retryable: true,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });
}
