import type {
  CompanyDto,
  ContactDto,
  ConversationDto,
  GrantSelection,
  InstallationDto,
  LocationDto,
  MessageDto,
  ProviderDto,
  RecordedRequestDto,
  StateSnapshotDto,
  TokenSummaryDto,
  UserType,
  WebhookDeliveryDto,
} from '@app/ghl-sandbox-client/admin-api.types';
import { ghlId } from './ids';

export interface AuthCodeRecord {
  code: string;
  grant: GrantSelection;
  clientId: string;
  redirectUri?: string;
  expiresAt: number;
  usedAt?: number;
}

export interface TokenRecord {
  kind: 'access' | 'refresh';
  token: string;
  userType: UserType;
  locationId?: string;
  companyId: string;
  userId: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
  /** Refresh tokens: single use (GHL-CONTRACT §2.2). */
  usedAt?: number;
}

export interface StoredFile {
  id: string;
  name: string;
  contentType: string;
  data: Buffer;
}

/** Old requests are dropped past this, so a long demo does not grow without bound. */
const MAX_RECORDED_REQUESTS = 20_000;

/**
 * Everything the sandbox knows, in memory. Handlers read and write it synchronously, so a
 * check-and-set (a single-use code or refresh token) can never interleave with another request.
 */
export class SandboxState {
  readonly companies = new Map<string, CompanyDto>();
  readonly locations = new Map<string, LocationDto>();
  /** Installs by location id (direct, or through an approved company install). */
  readonly locationInstalls = new Map<string, InstallationDto>();
  readonly companyInstalls = new Map<string, InstallationDto>();
  readonly providers = new Map<string, ProviderDto>();
  readonly authCodes = new Map<string, AuthCodeRecord>();
  readonly pendingGrants: GrantSelection[] = [];
  readonly tokens = new Map<string, TokenRecord>();
  readonly contacts = new Map<string, ContactDto>();
  readonly conversations = new Map<string, ConversationDto>();
  readonly messages = new Map<string, MessageDto>();
  readonly files = new Map<string, StoredFile>();
  readonly deliveries = new Map<string, WebhookDeliveryDto>();
  readonly requests: RecordedRequestDto[] = [];
  private requestSeq = 0;

  reset(): void {
    for (const map of [
      this.companies,
      this.locations,
      this.locationInstalls,
      this.companyInstalls,
      this.providers,
      this.authCodes,
      this.tokens,
      this.contacts,
      this.conversations,
      this.messages,
      this.files,
      this.deliveries,
    ] as Array<Map<string, unknown>>) {
      map.clear();
    }
    this.pendingGrants.length = 0;
    this.requests.length = 0;
  }

  nextRequestSeq(): number {
    this.requestSeq += 1;
    return this.requestSeq;
  }

  recordRequest(entry: RecordedRequestDto): void {
    this.requests.push(entry);
    if (this.requests.length > MAX_RECORDED_REQUESTS)
      this.requests.splice(0, this.requests.length - MAX_RECORDED_REQUESTS);
  }

  ensureCompany(id: string, name?: string): CompanyDto {
    let company = this.companies.get(id);
    if (!company) {
      company = { id, name: name ?? `Agency ${id}`, locationIds: [] };
      this.companies.set(id, company);
    }
    return company;
  }

  addLocation(location: LocationDto): LocationDto {
    const company = this.ensureCompany(location.companyId);
    if (!company.locationIds.includes(location.id)) company.locationIds.push(location.id);
    this.locations.set(location.id, location);
    // A company install with "install to future locations" covers a location created later.
    const companyInstall = this.companyInstalls.get(location.companyId);
    if (companyInstall?.installToFutureLocations && !this.locationInstalls.has(location.id)) {
      companyInstall.approvedLocationIds = [...(companyInstall.approvedLocationIds ?? []), location.id];
      this.locationInstalls.set(location.id, {
        userType: 'Location',
        companyId: location.companyId,
        locationId: location.id,
        userId: companyInstall.userId,
        installedAt: new Date().toISOString(),
      });
    }
    return location;
  }

  newId(): string {
    return ghlId();
  }

  tokenSummary(record: TokenRecord): TokenSummaryDto {
    return {
      kind: record.kind,
      token: record.token,
      userType: record.userType,
      ...(record.locationId ? { locationId: record.locationId } : {}),
      companyId: record.companyId,
      scopes: record.scopes,
      issuedAt: new Date(record.issuedAt).toISOString(),
      expiresAt: new Date(record.expiresAt).toISOString(),
      revoked: record.revoked,
      ...(record.usedAt ? { usedAt: new Date(record.usedAt).toISOString() } : {}),
    };
  }

  snapshot(): StateSnapshotDto {
    return {
      companies: [...this.companies.values()],
      locations: [...this.locations.values()],
      installations: [...this.companyInstalls.values(), ...this.locationInstalls.values()],
      providers: [...this.providers.values()],
      contacts: [...this.contacts.values()],
      conversations: [...this.conversations.values()],
      messages: [...this.messages.values()],
      tokens: [...this.tokens.values()].map((t) => this.tokenSummary(t)),
      pendingGrants: [...this.pendingGrants],
    };
  }
}
