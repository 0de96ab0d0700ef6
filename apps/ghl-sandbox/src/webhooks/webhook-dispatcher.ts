import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  SandboxSettingsDto,
  WebhookDeliveryDto,
  WebhookKind,
} from '@app/ghl-sandbox-client/admin-api.types';
import type { SandboxState } from '../state/sandbox-state';
import { signEd25519, signRsa, type SigningKeys } from './signing-keys';

/**
 * Sends webhooks the way GHL does (GHL-CONTRACT §6.3): POST the JSON, signed with `x-ghl-signature`
 * (Ed25519) and, while GHL still sends it, `x-wh-signature` (RSA). Only a 429 answer is retried, up to
 * `webhookMaxRetries` times (GHL: six, ten minutes apart; here `webhookRetryDelayMs` apart). Any other
 * status, a timeout or a refused connection is final: the event is lost, as on GHL (ISSUE #257).
 */
export class WebhookDispatcher {
  private readonly done = new Map<string, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly controllers = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly state: SandboxState,
    private readonly keys: SigningKeys,
    private readonly settings: SandboxSettingsDto,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  send(kind: WebhookKind, url: string, payload: Record<string, unknown>): WebhookDeliveryDto {
    const rawBody = JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'ghl-sandbox-webhooks',
      'x-ghl-signature': signEd25519(this.keys, rawBody),
    };
    if (this.settings.signRsa) headers['x-wh-signature'] = signRsa(this.keys, rawBody);
    const delivery: WebhookDeliveryDto = {
      id: randomUUID(),
      kind,
      url,
      payload,
      rawBody,
      headers,
      attempts: [],
      state: 'pending',
    };
    this.state.deliveries.set(delivery.id, delivery);
    this.done.set(delivery.id, this.run(delivery));
    return delivery;
  }

  /** Resolves once the delivery is final (delivered, failed, or retries exhausted). */
  async settled(id: string): Promise<WebhookDeliveryDto | undefined> {
    await this.done.get(id);
    return this.state.deliveries.get(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const controller of this.controllers) controller.abort();
    await Promise.allSettled([...this.done.values()]);
  }

  private async run(delivery: WebhookDeliveryDto): Promise<void> {
    // Let the API answer first: GHL queues the webhook, it does not hold the request open for it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let attempt = 0; !this.closed; attempt++) {
      const status = await this.attempt(delivery);
      const retry = status === 429 && attempt < this.settings.webhookMaxRetries;
      if (!retry) {
        delivery.state = status !== undefined && status >= 200 && status < 300 ? 'delivered' : 'failed';
        delivery.finalStatus = status;
        this.logger.debug({ delivery: delivery.id, kind: delivery.kind, status }, 'webhook settled');
        return;
      }
      await this.wait(this.settings.webhookRetryDelayMs);
    }
    if (delivery.state === 'pending') delivery.state = 'failed';
  }

  private async attempt(delivery: WebhookDeliveryDto): Promise<number | undefined> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    const at = new Date().toISOString();
    try {
      const res = await fetch(delivery.url, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.rawBody,
        signal: controller.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      delivery.attempts.push({ at, status: res.status });
      return res.status;
    } catch (err) {
      const message =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      delivery.attempts.push({ at, error: message });
      this.logger.warn(
        { delivery: delivery.id, kind: delivery.kind, url: delivery.url, err: message },
        'webhook attempt failed',
      );
      return undefined;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}
