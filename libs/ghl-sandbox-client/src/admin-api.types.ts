/**
 * The GHL sandbox's admin API, as data. The sandbox (apps/ghl-sandbox) answers with these shapes and the
 * typed client in this library sends them, so a test cannot drift from what the sandbox does.
 *
 * Everything here is sandbox-only: none of it exists on the real GoHighLevel.
 */

export type UserType = 'Location' | 'Company';
export type MessageDirection = 'inbound' | 'outbound';
export type MessageStatus =
  | 'connected'
  | 'delivered'
  | 'failed'
  | 'opened'
  | 'pending'
  | 'read'
  | 'scheduled'
  | 'sent'
  | 'undelivered'
  | 'clicked'
  | 'opt_out'
  | 'queued';

export interface CompanyDto {
  id: string;
  name: string;
  locationIds: string[];
}

export interface LocationDto {
  id: string;
  companyId: string;
  name: string;
  address: string;
  timezone: string;
  country: string;
  /** false makes a refresh for this location answer 400 `Location is not active` (token kept). */
  active: boolean;
  /** The location's "Allow Duplicate Contact" setting (GHL-CONTRACT §3.1). */
  allowDuplicateContact: boolean;
  createdAt: string;
}

export interface CreateLocationInput {
  id?: string;
  name?: string;
  /** Company (agency) the location belongs to; a company is created when it does not exist. */
  companyId?: string;
  address?: string;
  timezone?: string;
  country?: string;
  active?: boolean;
  allowDuplicateContact?: boolean;
}

export type UpdateLocationInput = Partial<
  Pick<LocationDto, 'name' | 'active' | 'allowDuplicateContact' | 'timezone' | 'country' | 'address'>
>;

export interface CreateCompanyInput {
  id?: string;
  name?: string;
  /** Locations to create inside the company. Defaults to none. */
  locations?: Array<Omit<CreateLocationInput, 'companyId'>>;
}

export interface CompanyWithLocationsDto extends CompanyDto {
  locations: LocationDto[];
}

export type ProviderType = 'SMS' | 'Email' | 'Call';

export interface ProviderDto {
  /** The `conversationProviderId`. */
  id: string;
  /** The marketplace app owning the provider; only that app may use it (GHL-CONTRACT §4.2, §4.5). */
  appId: string;
  name: string;
  type: ProviderType;
  /** "Is this a Custom Conversation Provider" (an extra provider) vs a default-provider replacement (§5). */
  isCustom: boolean;
  deliveryUrl: string;
  /** The `type` written into ProviderOutboundMessage payloads (§12 open question 3). */
  outboundType: 'SMS' | 'Custom' | 'Email';
}

export interface CreateProviderInput {
  id?: string;
  appId?: string;
  name?: string;
  type?: ProviderType;
  isCustom?: boolean;
  deliveryUrl: string;
  outboundType?: 'SMS' | 'Custom' | 'Email';
}

export type UpdateProviderInput = Partial<Omit<CreateProviderInput, 'id' | 'appId'>>;

/** What the next authorization code (choose-location page) grants. */
export type GrantSelection =
  | { userType: 'Location'; locationId: string; userId?: string; scopes?: string[] }
  | {
      userType: 'Company';
      companyId: string;
      /** Locations approved in a bulk install. Defaults to every location of the company. */
      locationIds?: string[];
      installToFutureLocations?: boolean;
      userId?: string;
      scopes?: string[];
    };

export interface IssuedCodeDto {
  code: string;
  expiresAt: string;
  grant: GrantSelection;
}

export interface TokenPairDto {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  userType: UserType;
  locationId?: string;
  companyId: string;
  scope: string;
}

export interface IssueTokenInput {
  locationId?: string;
  companyId?: string;
  scopes?: string[];
}

export interface TokenSelector {
  accessToken?: string;
  refreshToken?: string;
  locationId?: string;
  companyId?: string;
  /** Which tokens of the selected resource: both kinds by default. */
  kind?: 'access' | 'refresh' | 'all';
}

export interface TokenSummaryDto {
  kind: 'access' | 'refresh';
  token: string;
  userType: UserType;
  locationId?: string;
  companyId: string;
  scopes: string[];
  issuedAt: string;
  expiresAt: string;
  revoked: boolean;
  /** Refresh tokens only: set once the token has been exchanged (single use, §2.2). */
  usedAt?: string;
}

export type FaultAction =
  | { kind: 'error'; status: number; body?: unknown }
  /** 429 with the rate-limit headers showing nothing left, as a real limit breach would. */
  | { kind: 'rate-limit' }
  /** Holds the request this long, then processes it normally. */
  | { kind: 'delay'; ms: number }
  /** Destroys the socket without answering. */
  | { kind: 'drop' };

export interface FaultMatch {
  method?: string;
  /** Exact path, or a prefix when it ends with `*` (e.g. `/conversations/*`). */
  path?: string;
  /** The OpenAPI operationId (e.g. `add-an-inbound-message`, `get-access-token`). */
  operationId?: string;
  /** Only requests made with a token of this location (or naming it in the query/body). */
  locationId?: string;
}

export interface FaultInput {
  match?: FaultMatch;
  action: FaultAction;
  /** Fire on this many matching requests, then disappear. Default: unlimited until `durationMs`. */
  times?: number;
  /** Disappear after this long. */
  durationMs?: number;
}

export interface FaultDto extends FaultInput {
  id: string;
  hits: number;
  createdAt: string;
  expiresAt?: string;
}

export interface RecordedRequestDto {
  seq: number;
  at: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON or form body; the raw text when it could not be parsed; null when empty. */
  body: unknown;
  status: number;
  responseBody: unknown;
  durationMs: number;
  operationId?: string;
  /** Location of the bearer token, when there was one. */
  locationId?: string;
  /** Set when an injected fault answered the request. */
  faultId?: string;
}

export interface RequestQuery {
  method?: string;
  path?: string;
  operationId?: string;
  locationId?: string;
  /** Only requests with `seq` greater than this. */
  afterSeq?: number;
}

export interface ContactDto {
  id: string;
  locationId: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  phone?: string;
  tags: string[];
  source?: string;
  dnd?: boolean;
  customFields: Array<{ id: string; value: unknown }>;
  dateAdded: string;
  dateUpdated: string;
  [extra: string]: unknown;
}

export interface ConversationDto {
  id: string;
  locationId: string;
  contactId: string;
  dateAdded: string;
  dateUpdated: string;
  lastMessageDate: string;
  lastMessageBody?: string;
  lastMessageType?: string;
  lastMessageDirection?: MessageDirection;
  unreadCount: number;
  deleted: boolean;
  type: string;
}

export interface StatusChangeDto {
  status: MessageStatus;
  at: string;
  error?: { code: string; type: string; message: string };
}

export interface MessageDto {
  id: string;
  locationId: string;
  contactId: string;
  conversationId: string;
  /** The request `type` (SMS, Custom, WhatsApp, ...). */
  type: string;
  /** GHL's message type (TYPE_SMS, TYPE_CUSTOM_PROVIDER_SMS, ...). */
  messageType: string;
  direction: MessageDirection;
  body?: string;
  attachments: string[];
  altId?: string;
  conversationProviderId?: string;
  status: MessageStatus;
  /** How the message reached the sandbox. */
  origin: 'inbound-api' | 'send-api' | 'ghl-user';
  source: 'api' | 'app';
  userId?: string;
  dateAdded: string;
  dateUpdated: string;
  statusHistory: StatusChangeDto[];
  /** Outbound provider messages: the ProviderOutboundMessage delivery. */
  deliveryId?: string;
}

export interface MessageQuery {
  locationId?: string;
  conversationId?: string;
  contactId?: string;
  altId?: string;
  direction?: MessageDirection;
}

export interface CountsDto {
  contacts: number;
  conversations: number;
  messages: { inbound: number; outbound: number };
  /** How many messages were written per `altId` through the inbound endpoint (no de-duplication, §4.2). */
  messagesByAltId: Record<string, number>;
  /** altIds written more than once: a product that never writes twice keeps this empty. */
  duplicateAltIds: string[];
  /** Contacts sharing one phone number in one location (possible only with duplicates allowed). */
  duplicatePhones: string[];
  requestsByOperation: Record<string, number>;
}

export interface WebhookAttemptDto {
  at: string;
  status?: number;
  error?: string;
}

export type WebhookKind = 'INSTALL' | 'UNINSTALL' | 'ProviderOutboundMessage';

export interface WebhookDeliveryDto {
  id: string;
  kind: WebhookKind;
  url: string;
  payload: Record<string, unknown>;
  /** The exact bytes that were signed and sent. */
  rawBody: string;
  headers: Record<string, string>;
  attempts: WebhookAttemptDto[];
  state: 'pending' | 'delivered' | 'failed';
  finalStatus?: number;
}

export interface SendInstallWebhookInput {
  locationId?: string;
  companyId?: string;
  /** Receiver; defaults to the sandbox's configured webhook URL. */
  url?: string;
  /** Wait for the final outcome (retries included) before answering. */
  wait?: boolean;
}

export interface SendUninstallWebhookInput extends SendInstallWebhookInput {
  /** Also remove the installation and revoke its tokens, as GHL does. Default true. */
  uninstall?: boolean;
}

export interface SimulateUserMessageInput {
  locationId: string;
  contactId?: string;
  /** Finds the contact by E.164 phone when `contactId` is not given. */
  phone?: string;
  message?: string;
  attachments?: string[];
  conversationProviderId?: string;
  userId?: string;
}

export interface SimulatedMessageDto {
  message: MessageDto;
  delivery?: WebhookDeliveryDto;
}

export interface SsoUserContext {
  userId: string;
  companyId: string;
  role: 'admin' | 'user';
  type: 'agency' | 'location';
  userName: string;
  email: string;
  activeLocation?: string;
}

export interface SandboxSettingsDto {
  autoApprove: boolean;
  statusUpdateDelaySeconds: number;
  webhookUrl?: string;
  versionMode: 'strict' | 'live';
  rejectUnknownProperties: boolean;
  signRsa: boolean;
  rateLimit: { max: number; intervalMs: number; daily: number; retryAfterHeader: boolean };
  webhookRetryDelayMs: number;
  webhookMaxRetries: number;
}

export type UpdateSettingsInput = Partial<Omit<SandboxSettingsDto, 'rateLimit'>> & {
  rateLimit?: Partial<SandboxSettingsDto['rateLimit']>;
};

export interface SandboxKeysDto {
  /** Verifies `x-ghl-signature` (Ed25519, base64) on webhooks from this sandbox. */
  ed25519PublicKeyPem: string;
  /** Verifies `x-wh-signature` (RSA-SHA256, base64) on webhooks from this sandbox. */
  rsaPublicKeyPem: string;
}

export interface AppInfoDto {
  clientId: string;
  appId: string;
  versionId: string;
  scopes: string[];
  /** Base URL for the API (`services.leadconnectorhq.com` stand-in). */
  apiBaseUrl: string;
  /** Base URL for the marketplace (`marketplace.gohighlevel.com` stand-in). */
  marketplaceBaseUrl: string;
}

export interface StateSnapshotDto {
  companies: CompanyDto[];
  locations: LocationDto[];
  installations: InstallationDto[];
  providers: ProviderDto[];
  contacts: ContactDto[];
  conversations: ConversationDto[];
  messages: MessageDto[];
  tokens: TokenSummaryDto[];
  pendingGrants: GrantSelection[];
}

export interface InstallationDto {
  userType: UserType;
  companyId: string;
  locationId?: string;
  userId: string;
  installedAt: string;
  /** Company installs: locations approved in the bulk install. */
  approvedLocationIds?: string[];
  installToFutureLocations?: boolean;
}

export interface AdminErrorDto {
  statusCode: number;
  message: string;
  error: string;
}
