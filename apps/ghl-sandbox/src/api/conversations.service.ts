import type {
  ContactDto,
  ConversationDto,
  MessageDirection,
  MessageDto,
  ProviderDto,
  WebhookDeliveryDto,
} from '@app/ghl-sandbox-client/admin-api.types';
import type { SandboxConfig } from '../config/sandbox-config.schema';
import { GhlHttpError } from '../http/ghl-http.error';
import type { SandboxState } from '../state/sandbox-state';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher';

/** The messageType enum of GetMessageResponseDto, in spec order. */
const MESSAGE_TYPES = [
  'TYPE_CALL',
  'TYPE_SMS',
  'TYPE_RCS',
  'TYPE_EMAIL',
  'TYPE_SMS_REVIEW_REQUEST',
  'TYPE_WEBCHAT',
  'TYPE_SMS_NO_SHOW_REQUEST',
  'TYPE_CAMPAIGN_SMS',
  'TYPE_CAMPAIGN_CALL',
  'TYPE_CAMPAIGN_EMAIL',
  'TYPE_CAMPAIGN_VOICEMAIL',
  'TYPE_FACEBOOK',
  'TYPE_CAMPAIGN_FACEBOOK',
  'TYPE_CAMPAIGN_MANUAL_CALL',
  'TYPE_CAMPAIGN_MANUAL_SMS',
  'TYPE_GMB',
  'TYPE_CAMPAIGN_GMB',
  'TYPE_REVIEW',
  'TYPE_INSTAGRAM',
  'TYPE_WHATSAPP',
  'TYPE_CUSTOM_SMS',
  'TYPE_CUSTOM_EMAIL',
  'TYPE_CUSTOM_PROVIDER_SMS',
  'TYPE_CUSTOM_PROVIDER_EMAIL',
  'TYPE_IVR_CALL',
];

/** Request `type` → GHL messageType. Provider messages get the custom-provider types (§4.6). */
export function messageTypeFor(type: string, viaProvider: boolean): string {
  switch (type) {
    case 'SMS':
      return viaProvider ? 'TYPE_CUSTOM_PROVIDER_SMS' : 'TYPE_SMS';
    case 'Custom':
      return viaProvider ? 'TYPE_CUSTOM_PROVIDER_SMS' : 'TYPE_CUSTOM_SMS';
    case 'Email':
      return viaProvider ? 'TYPE_CUSTOM_PROVIDER_EMAIL' : 'TYPE_EMAIL';
    case 'WhatsApp':
      return 'TYPE_WHATSAPP';
    case 'RCS':
      return 'TYPE_RCS';
    case 'GMB':
      return 'TYPE_GMB';
    case 'IG':
      return 'TYPE_INSTAGRAM';
    case 'FB':
      return 'TYPE_FACEBOOK';
    case 'WebChat':
      return 'TYPE_WEBCHAT';
    case 'Live_Chat':
      return 'TYPE_LIVE_CHAT';
    case 'Call':
      return 'TYPE_CALL';
    case 'IVR_Call':
      return 'TYPE_IVR_CALL';
    case 'TIKTOK':
      return 'TYPE_TIKTOK';
    default:
      return `TYPE_${type.toUpperCase()}`;
  }
}

export interface NewMessage {
  locationId: string;
  contact: ContactDto;
  conversation: ConversationDto;
  type: string;
  direction: MessageDirection;
  body?: string;
  attachments?: string[];
  altId?: string;
  provider?: ProviderDto;
  status: MessageDto['status'];
  origin: MessageDto['origin'];
  source: MessageDto['source'];
  userId?: string;
  date?: string;
}

/** Conversations (one per contact, §2.6) and messages, shared by the API handlers and the admin API. */
export class ConversationsService {
  constructor(
    private readonly state: SandboxState,
    private readonly config: SandboxConfig,
    private readonly webhooks: WebhookDispatcher,
  ) {}

  forContact(locationId: string, contactId: string): ConversationDto | undefined {
    return [...this.state.conversations.values()].find(
      (c) => c.locationId === locationId && c.contactId === contactId && !c.deleted,
    );
  }

  create(locationId: string, contactId: string, now: number): ConversationDto {
    const at = new Date(now).toISOString();
    const conversation: ConversationDto = {
      id: this.state.newId(),
      locationId,
      contactId,
      dateAdded: at,
      dateUpdated: at,
      lastMessageDate: at,
      unreadCount: 0,
      deleted: false,
      type: 'TYPE_PHONE',
    };
    this.state.conversations.set(conversation.id, conversation);
    return conversation;
  }

  findOrCreate(locationId: string, contactId: string, now: number): ConversationDto {
    return this.forContact(locationId, contactId) ?? this.create(locationId, contactId, now);
  }

  /** A provider the calling app may use: our app's, else 400 (ISSUE #106/#107). */
  ownProvider(id: string): ProviderDto {
    const provider = this.state.providers.get(id);
    if (!provider || provider.appId !== this.config.appId) {
      throw new GhlHttpError(400, {
        message: 'Invalid conversationProviderId',
        error: 'Bad Request',
        statusCode: 400,
      });
    }
    return provider;
  }

  /** The app's provider for an outbound `type` when the request names none. */
  defaultProvider(type: string): ProviderDto | undefined {
    const own = [...this.state.providers.values()].filter((p) => p.appId === this.config.appId);
    switch (type) {
      case 'SMS':
        return own.find((p) => p.type === 'SMS' && !p.isCustom) ?? own.find((p) => p.type === 'SMS');
      case 'Custom':
        return own.find((p) => p.isCustom && p.type !== 'Email');
      case 'Email':
        return own.find((p) => p.type === 'Email');
      default:
        return undefined;
    }
  }

  addMessage(input: NewMessage, now: number): MessageDto {
    const at = new Date(now).toISOString();
    const message: MessageDto = {
      id: this.state.newId(),
      locationId: input.locationId,
      contactId: input.contact.id,
      conversationId: input.conversation.id,
      type: input.type,
      messageType: messageTypeFor(input.type, input.provider !== undefined),
      direction: input.direction,
      ...(input.body !== undefined ? { body: input.body } : {}),
      attachments: input.attachments ?? [],
      ...(input.altId !== undefined ? { altId: input.altId } : {}),
      ...(input.provider ? { conversationProviderId: input.provider.id } : {}),
      status: input.status,
      origin: input.origin,
      source: input.source,
      ...(input.userId ? { userId: input.userId } : {}),
      dateAdded: input.date ?? at,
      dateUpdated: at,
      statusHistory: [{ status: input.status, at }],
    };
    this.state.messages.set(message.id, message);
    const conversation = input.conversation;
    conversation.lastMessageBody = input.body ?? '';
    conversation.lastMessageType = message.messageType;
    conversation.lastMessageDirection = input.direction;
    conversation.lastMessageDate = at;
    conversation.dateUpdated = at;
    if (input.direction === 'inbound') conversation.unreadCount += 1;
    return message;
  }

  /**
   * An outbound message on a provider channel: stored as `pending`, then GHL POSTs the signed
   * ProviderOutboundMessage (§5) to the provider's delivery URL.
   */
  sendOutbound(
    input: Omit<NewMessage, 'direction' | 'status'>,
    now: number,
  ): { message: MessageDto; delivery?: WebhookDeliveryDto } {
    const message = this.addMessage({ ...input, direction: 'outbound', status: 'pending' }, now);
    if (!input.provider) return { message };
    const payload: Record<string, unknown> = {
      contactId: input.contact.id,
      locationId: input.locationId,
      messageId: message.id,
      type: input.provider.outboundType,
      phone: input.contact.phone,
      message: input.body ?? '',
      attachments: input.attachments ?? [],
      ...(input.userId ? { userId: input.userId } : {}),
    };
    if (input.provider.outboundType === 'Email') {
      Object.assign(payload, { emailTo: input.contact.email ? [input.contact.email] : [] });
      delete payload.phone;
    }
    const delivery = this.webhooks.send('ProviderOutboundMessage', input.provider.deliveryUrl, payload);
    message.deliveryId = delivery.id;
    return { message, delivery };
  }

  /** GetMessageResponseDto. */
  toApi(message: MessageDto): Record<string, unknown> {
    const index = MESSAGE_TYPES.indexOf(message.messageType);
    return {
      id: message.id,
      // Numeric type: assumed to follow the enum order (the real numbers are not documented).
      type: index === -1 ? 0 : index + 1,
      messageType: message.messageType,
      locationId: message.locationId,
      contactId: message.contactId,
      conversationId: message.conversationId,
      dateAdded: message.dateAdded,
      body: message.body ?? '',
      direction: message.direction,
      status: message.status,
      contentType: 'text/plain',
      attachments: message.attachments,
      source: message.source,
      ...(message.userId ? { userId: message.userId } : {}),
      ...(message.conversationProviderId ? { conversationProviderId: message.conversationProviderId } : {}),
    };
  }
}
