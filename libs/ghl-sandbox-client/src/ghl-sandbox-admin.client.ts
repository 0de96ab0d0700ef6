import type {
  AppInfoDto,
  CompanyWithLocationsDto,
  ContactDto,
  ConversationDto,
  CountsDto,
  CreateCompanyInput,
  CreateLocationInput,
  CreateProviderInput,
  FaultDto,
  FaultInput,
  GrantSelection,
  IssuedCodeDto,
  IssueTokenInput,
  LocationDto,
  MessageDto,
  MessageQuery,
  ProviderDto,
  RecordedRequestDto,
  RequestQuery,
  SandboxKeysDto,
  SandboxSettingsDto,
  SendInstallWebhookInput,
  SendUninstallWebhookInput,
  SimulatedMessageDto,
  SimulateUserMessageInput,
  SsoUserContext,
  StateSnapshotDto,
  TokenPairDto,
  TokenSelector,
  TokenSummaryDto,
  UpdateLocationInput,
  UpdateProviderInput,
  UpdateSettingsInput,
  WebhookDeliveryDto,
  WebhookKind,
} from './admin-api.types';

export class GhlSandboxAdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly route: string,
  ) {
    super(`GHL sandbox admin ${route} answered ${status}: ${JSON.stringify(body)}`);
    this.name = 'GhlSandboxAdminError';
  }
}

export const DEFAULT_ADMIN_TOKEN = 'sandbox-admin-token';

function toQuery(params: object = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** Typed client for the GHL sandbox's admin API (tests and demo scripts). */
export class GhlSandboxAdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly adminToken = DEFAULT_ADMIN_TOKEN,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new GhlSandboxAdminError(res.status, parsed, `${method} ${path}`);
    return parsed as T;
  }

  health(): Promise<{ status: 'ok' }> {
    return this.call('GET', '/admin/health');
  }
  keys(): Promise<SandboxKeysDto> {
    return this.call('GET', '/admin/keys');
  }
  app(): Promise<AppInfoDto> {
    return this.call('GET', '/admin/app');
  }
  settings(): Promise<SandboxSettingsDto> {
    return this.call('GET', '/admin/settings');
  }
  updateSettings(input: UpdateSettingsInput): Promise<SandboxSettingsDto> {
    return this.call('PATCH', '/admin/settings', input);
  }
  state(): Promise<StateSnapshotDto> {
    return this.call('GET', '/admin/state');
  }
  reset(): Promise<{ ok: true }> {
    return this.call('POST', '/admin/reset');
  }

  createCompany(input: CreateCompanyInput = {}): Promise<CompanyWithLocationsDto> {
    return this.call('POST', '/admin/companies', input);
  }
  createLocation(input: CreateLocationInput = {}): Promise<LocationDto> {
    return this.call('POST', '/admin/locations', input);
  }
  locations(): Promise<LocationDto[]> {
    return this.call('GET', '/admin/locations');
  }
  updateLocation(id: string, input: UpdateLocationInput): Promise<LocationDto> {
    return this.call('PATCH', `/admin/locations/${encodeURIComponent(id)}`, input);
  }
  createProvider(input: CreateProviderInput): Promise<ProviderDto> {
    return this.call('POST', '/admin/providers', input);
  }
  providers(): Promise<ProviderDto[]> {
    return this.call('GET', '/admin/providers');
  }
  updateProvider(id: string, input: UpdateProviderInput): Promise<ProviderDto> {
    return this.call('PATCH', `/admin/providers/${encodeURIComponent(id)}`, input);
  }

  /** Queues what the next choose-location visit grants (FIFO). */
  setNextGrant(grant: GrantSelection): Promise<{ pendingGrants: GrantSelection[] }> {
    return this.call('POST', '/admin/oauth/next-grant', grant);
  }
  clearNextGrants(): Promise<{ pendingGrants: [] }> {
    return this.call('DELETE', '/admin/oauth/next-grant');
  }
  /** Installs and mints an authorization code without the browser round trip. */
  issueCode(grant: GrantSelection, redirectUri?: string): Promise<IssuedCodeDto> {
    return this.call('POST', '/admin/oauth/codes', { grant, ...(redirectUri ? { redirectUri } : {}) });
  }

  /** A token pair straight away (no install, no code): for tests that are not about OAuth. */
  issueTokens(input: IssueTokenInput): Promise<TokenPairDto> {
    return this.call('POST', '/admin/tokens', input);
  }
  tokens(query: { locationId?: string; companyId?: string } = {}): Promise<TokenSummaryDto[]> {
    return this.call('GET', `/admin/tokens${toQuery(query)}`);
  }
  revokeTokens(selector: TokenSelector): Promise<{ revoked: number }> {
    return this.call('POST', '/admin/tokens/revoke', selector);
  }
  expireTokens(selector: TokenSelector): Promise<{ expired: number }> {
    return this.call('POST', '/admin/tokens/expire', selector);
  }

  addFault(input: FaultInput): Promise<FaultDto> {
    return this.call('POST', '/admin/faults', input);
  }
  faults(): Promise<FaultDto[]> {
    return this.call('GET', '/admin/faults');
  }
  clearFaults(): Promise<{ ok: true }> {
    return this.call('DELETE', '/admin/faults');
  }
  removeFault(id: string): Promise<{ ok: true }> {
    return this.call('DELETE', `/admin/faults/${encodeURIComponent(id)}`);
  }
  resetRateLimits(): Promise<{ ok: true }> {
    return this.call('POST', '/admin/rate-limits/reset');
  }

  requests(query: RequestQuery = {}): Promise<RecordedRequestDto[]> {
    return this.call('GET', `/admin/requests${toQuery(query)}`);
  }
  clearRequests(): Promise<{ ok: true }> {
    return this.call('DELETE', '/admin/requests');
  }
  contacts(query: { locationId?: string; phone?: string } = {}): Promise<ContactDto[]> {
    return this.call('GET', `/admin/contacts${toQuery(query)}`);
  }
  conversations(query: { locationId?: string } = {}): Promise<ConversationDto[]> {
    return this.call('GET', `/admin/conversations${toQuery(query)}`);
  }
  messages(query: MessageQuery = {}): Promise<MessageDto[]> {
    return this.call('GET', `/admin/messages${toQuery(query)}`);
  }
  counts(locationId?: string): Promise<CountsDto> {
    return this.call('GET', `/admin/counts${toQuery({ locationId })}`);
  }

  /** A GHL user replies in the conversation: GHL POSTs a ProviderOutboundMessage to the provider. */
  simulateUserMessage(input: SimulateUserMessageInput): Promise<SimulatedMessageDto> {
    return this.call('POST', '/admin/messages/outbound', input);
  }
  sendInstallWebhook(input: SendInstallWebhookInput): Promise<WebhookDeliveryDto> {
    return this.call('POST', '/admin/webhooks/install', input);
  }
  sendUninstallWebhook(input: SendUninstallWebhookInput): Promise<WebhookDeliveryDto> {
    return this.call('POST', '/admin/webhooks/uninstall', input);
  }
  deliveries(kind?: WebhookKind): Promise<WebhookDeliveryDto[]> {
    return this.call('GET', `/admin/webhooks/deliveries${toQuery({ kind })}`);
  }
  /** One delivery; with `wait`, once it is final (retries included). */
  delivery(id: string, wait = false): Promise<WebhookDeliveryDto> {
    return this.call('GET', `/admin/webhooks/deliveries/${encodeURIComponent(id)}${wait ? '?wait=1' : ''}`);
  }

  /** The encrypted custom-page user context (§8), made with the sandbox's shared secret. */
  encryptUserContext(
    input: Partial<SsoUserContext> = {},
  ): Promise<{ payload: SsoUserContext; encrypted: string }> {
    return this.call('POST', '/admin/sso/encrypt', input);
  }
}
