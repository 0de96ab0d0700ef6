import type {
  AccountSummary,
  ConfirmPairingCodeRequest,
  EnsureContactRequest,
  FaultResult,
  InjectFaultRequest,
  OutboxItem,
  OutboxPage,
  OutboxQuery,
  PairingCodeRequestInfo,
  PairingResult,
  RestoreResult,
  SandboxSettings,
  SandboxSnapshot,
  SandboxStats,
  ScanQrRequest,
  SendReceiptRequest,
  SendReceiptResult,
  SendTextRequest,
  SendTextResult,
  TrustInfo,
  UnlinkResult,
  UpdateSettingsRequest,
} from './admin-api';

/** The sandbox answered with a non-2xx status; `code` is its error code (`not_found`, `conflict`, ...). */
export class WaSandboxAdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`wa-sandbox ${status} ${code}: ${message}`);
    this.name = 'WaSandboxAdminError';
  }
}

export interface WaSandboxAdminClientOptions {
  /** e.g. `http://127.0.0.1:8782` */
  baseUrl: string;
  token: string;
  /** Per-request timeout; pairing waits for the companion, so keep it above a few seconds. */
  timeoutMs?: number;
}

/** Typed client of the WhatsApp sandbox's admin API (see apps/wa-sandbox/README.md). Baileys-free. */
export class WaSandboxAdminClient {
  private readonly baseUrl: string;

  constructor(private readonly options: WaSandboxAdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  health(): Promise<{ ok: true }> {
    return this.call('GET', '/health');
  }

  trust(): Promise<TrustInfo> {
    return this.call('GET', '/trust');
  }

  getSettings(): Promise<SandboxSettings> {
    return this.call('GET', '/settings');
  }

  updateSettings(patch: UpdateSettingsRequest): Promise<SandboxSettings> {
    return this.call('PATCH', '/settings', patch);
  }

  /** The simulated phone of `phone` scans the QR Baileys showed; resolves once the device is paired. */
  scanQr(request: ScanQrRequest): Promise<PairingResult> {
    return this.call('POST', '/pairing/scan', request);
  }

  /** Companions that called `requestPairingCode` and wait for the code to be typed on the phone. */
  pairingCodeRequests(): Promise<PairingCodeRequestInfo[]> {
    return this.call('GET', '/pairing/code-requests');
  }

  /** The user types the companion's pairing code on the phone; resolves once the device is paired. */
  confirmPairingCode(request: ConfirmPairingCodeRequest): Promise<PairingResult> {
    return this.call('POST', '/pairing/code/confirm', request);
  }

  ensureContact(request: EnsureContactRequest): Promise<AccountSummary> {
    return this.call('POST', '/contacts', request);
  }

  accounts(): Promise<AccountSummary[]> {
    return this.call('GET', '/accounts');
  }

  account(phone: string): Promise<AccountSummary> {
    return this.call('GET', `/accounts/${encodeURIComponent(phone)}`);
  }

  /** A contact writes to an account: every linked device of the account gets the encrypted text. */
  sendText(request: SendTextRequest): Promise<SendTextResult> {
    return this.call('POST', '/messages/text', request);
  }

  /** A contact confirms delivery or reading of messages the account sent. */
  sendReceipt(request: SendReceiptRequest): Promise<SendReceiptResult> {
    return this.call('POST', '/messages/receipt', request);
  }

  /** What the account's devices sent, decrypted by the simulated phones, oldest first. */
  outbox(phone: string, query: OutboxQuery = {}): Promise<OutboxPage> {
    const params = new URLSearchParams();
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const suffix = params.size ? `?${params.toString()}` : '';
    return this.call('GET', `/accounts/${encodeURIComponent(phone)}/outbox${suffix}`);
  }

  /** Every outbox item of the account, following pages. */
  async outboxAll(phone: string): Promise<OutboxItem[]> {
    const items: OutboxItem[] = [];
    let after = 0;
    for (;;) {
      const page = await this.outbox(phone, { after, limit: 1000 });
      items.push(...page.items);
      if (page.items.length < 1000) return items;
      after = page.lastSeq;
    }
  }

  injectFault(request: InjectFaultRequest): Promise<FaultResult> {
    return this.call('POST', '/faults', request);
  }

  /** The phone removes a linked device (Settings → Linked devices → Log out). */
  unlinkDevice(phone: string, deviceId: number): Promise<UnlinkResult> {
    return this.call('POST', `/accounts/${encodeURIComponent(phone)}/devices/${deviceId}/unlink`);
  }

  stats(options: { detail?: boolean; phone?: string } = {}): Promise<SandboxStats> {
    const params = new URLSearchParams();
    if (options.detail) params.set('detail', '1');
    if (options.phone) params.set('phone', options.phone);
    const suffix = params.size ? `?${params.toString()}` : '';
    return this.call('GET', `/stats${suffix}`);
  }

  snapshot(): Promise<SandboxSnapshot> {
    return this.call('GET', '/snapshot');
  }

  /** Replaces the whole state; every open connection is dropped. */
  restore(snapshot: SandboxSnapshot): Promise<RestoreResult> {
    return this.call('POST', '/snapshot/restore', snapshot);
  }

  /** Forgets every account, device and outbox, and keeps the trust anchor. */
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/reset');
  }

  private async call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const error = (parsed ?? {}) as { error?: { code?: string; message?: string } };
      throw new WaSandboxAdminError(
        response.status,
        error.error?.code ?? 'unknown',
        error.error?.message ?? (text || response.statusText),
      );
    }
    return parsed as T;
  }
}
