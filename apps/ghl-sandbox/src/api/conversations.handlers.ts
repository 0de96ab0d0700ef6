import type {
  ConversationDto,
  MessageDto,
  SandboxSettingsDto,
} from '@app/ghl-sandbox-client/admin-api.types';
import type { SandboxConfig } from '../config/sandbox-config.schema';
import { GhlHttpError } from '../http/ghl-http.error';
import type { SandboxState } from '../state/sandbox-state';
import { assertLocationAccess, str, tokenOf, type ApiHandlers, type ApiRequest } from './api-handler';
import type { ContactsService } from './contacts.handlers';
import type { ConversationsService } from './conversations.service';

/** Upload file types GHL accepts (§4.7). */
const UPLOAD_EXTENSIONS = [
  'jpg',
  'jpeg',
  'png',
  'mp4',
  'mpeg',
  'zip',
  'rar',
  'pdf',
  'doc',
  'docx',
  'txt',
  'mp3',
  'wav',
];

export interface ConversationsDeps {
  state: SandboxState;
  config: SandboxConfig;
  settings: SandboxSettingsDto;
  contacts: ContactsService;
  conversations: ConversationsService;
  /** Base URL the sandbox serves uploaded files from. */
  publicUrl: () => string;
}

export function conversationsHandlers(deps: ConversationsDeps): ApiHandlers {
  const { state, contacts, conversations } = deps;

  const conversationFor = (req: ApiRequest, id: string): ConversationDto => {
    const conversation = state.conversations.get(id);
    if (!conversation || conversation.deleted) throw GhlHttpError.badRequest('Conversation not found');
    assertLocationAccess(
      tokenOf(req),
      conversation.locationId,
      state.locations.get(conversation.locationId)?.companyId,
    );
    return conversation;
  };

  const messageFor = (req: ApiRequest, id: string): MessageDto => {
    const message = state.messages.get(id);
    if (!message) throw GhlHttpError.badRequest('Message not found');
    assertLocationAccess(
      tokenOf(req),
      message.locationId,
      state.locations.get(message.locationId)?.companyId,
    );
    return message;
  };

  const conversationRow = (c: ConversationDto): Record<string, unknown> => {
    const contact = state.contacts.get(c.contactId);
    return {
      id: c.id,
      contactId: c.contactId,
      locationId: c.locationId,
      lastMessageBody: c.lastMessageBody ?? '',
      lastMessageType: c.lastMessageType ?? 'TYPE_SMS',
      ...(c.lastMessageDirection ? { lastMessageDirection: c.lastMessageDirection } : {}),
      type: c.type,
      unreadCount: c.unreadCount,
      fullName: contact?.name ?? '',
      contactName: contact?.name ?? '',
      email: contact?.email ?? '',
      phone: contact?.phone ?? '',
      dateAdded: Date.parse(c.dateAdded),
      dateUpdated: Date.parse(c.dateUpdated),
      lastMessageDate: Date.parse(c.lastMessageDate),
    };
  };

  return {
    'search-conversation': (req) => {
      const locationId = req.query.locationId;
      assertLocationAccess(tokenOf(req), locationId, state.locations.get(locationId)?.companyId);
      const q = req.query.query?.toLowerCase();
      const rows = [...state.conversations.values()]
        .filter((c) => c.locationId === locationId && !c.deleted)
        .filter((c) => !req.query.contactId || c.contactId === req.query.contactId)
        .filter((c) => !req.query.id || c.id === req.query.id)
        .map(conversationRow)
        .filter((r) => !q || [r.fullName, r.email, r.phone].some((v) => String(v).toLowerCase().includes(q)))
        .sort((a, b) => (b.lastMessageDate as number) - (a.lastMessageDate as number));
      const limit = Math.min(Number(req.query.limit ?? '20') || 20, 100);
      return { status: 200, body: { conversations: rows.slice(0, limit), total: rows.length } };
    },

    'create-conversation': (req) => {
      const locationId = str(req.body.locationId)!;
      assertLocationAccess(tokenOf(req), locationId, state.locations.get(locationId)?.companyId);
      const contact = contacts.get(req, str(req.body.contactId)!);
      if (contact.locationId !== locationId) throw GhlHttpError.badRequest('Contact not found');
      const existing = conversations.forContact(locationId, contact.id);
      if (existing) {
        // §12 Q6: the live answer for an existing conversation is undocumented; assumed 400 with its id.
        throw GhlHttpError.badRequest('Conversation already exists', { conversationId: existing.id });
      }
      const c = conversations.create(locationId, contact.id, req.now);
      return {
        status: 201,
        body: {
          success: true,
          conversation: {
            id: c.id,
            dateUpdated: c.dateUpdated,
            dateAdded: c.dateAdded,
            deleted: c.deleted,
            contactId: c.contactId,
            locationId: c.locationId,
            lastMessageDate: c.lastMessageDate,
          },
        },
      };
    },

    'get-conversation': (req) => {
      const c = conversationFor(req, req.pathParams.conversationId);
      return {
        status: 200,
        body: {
          contactId: c.contactId,
          locationId: c.locationId,
          deleted: c.deleted,
          inbox: true,
          type: 1,
          unreadCount: c.unreadCount,
          id: c.id,
          starred: false,
        },
      };
    },

    'add-an-inbound-message': (req) => {
      const token = tokenOf(req);
      const providerId = str(req.body.conversationProviderId);
      let provider;
      if (providerId !== undefined) {
        // An id GHL has never seen gave 500, not 400 (ISSUE #6); another app's id gives 400 (#106).
        if (!state.providers.has(providerId)) throw GhlHttpError.internal();
        provider = conversations.ownProvider(providerId);
      }
      const type = str(req.body.type)!;
      if (type === 'Custom' && !provider) {
        // "201 with no actual body" and nothing added (ISSUE #70).
        return { status: 201 };
      }
      const contact = contacts.get(req, str(req.body.contactId)!);
      const locationId = token.locationId ?? contact.locationId;
      let conversation: ConversationDto;
      const conversationId = str(req.body.conversationId);
      if (conversationId !== undefined) {
        conversation = conversationFor(req, conversationId);
        if (conversation.contactId !== contact.id)
          throw GhlHttpError.badRequest('Conversation does not belong to this contact');
      } else {
        conversation = conversations.findOrCreate(locationId, contact.id, req.now);
      }
      const message = conversations.addMessage(
        {
          locationId,
          contact,
          conversation,
          type,
          // The spec's default is "outbound" (§4.2): a client that omits it gets an outbound message.
          direction: (str(req.body.direction) as MessageDto['direction'] | undefined) ?? 'outbound',
          body: str(req.body.message),
          attachments: req.body.attachments as string[] | undefined,
          altId: str(req.body.altId),
          provider,
          status: 'delivered',
          origin: 'inbound-api',
          source: 'api',
          date: str(req.body.date),
        },
        req.now,
      );
      return {
        status: 200,
        body: {
          success: true,
          conversationId: conversation.id,
          messageId: message.id,
          message: 'Message added successfully',
          contactId: contact.id,
          dateAdded: message.dateAdded,
        },
      };
    },

    'send-a-new-message': (req) => {
      const token = tokenOf(req);
      const contact = contacts.get(req, str(req.body.contactId)!);
      const type = str(req.body.type)!;
      const providerId = str(req.body.conversationProviderId);
      const provider =
        providerId !== undefined
          ? conversations.ownProvider(providerId)
          : conversations.defaultProvider(type);
      if (provider && provider.outboundType !== 'Email' && !contact.phone) {
        throw GhlHttpError.badRequest('Missing phone number for the contact');
      }
      const locationId = token.locationId ?? contact.locationId;
      const conversation = conversations.findOrCreate(locationId, contact.id, req.now);
      const { message } = conversations.sendOutbound(
        {
          locationId,
          contact,
          conversation,
          type,
          body: str(req.body.message),
          attachments: req.body.attachments as string[] | undefined,
          provider,
          origin: 'send-api',
          source: 'api',
        },
        req.now,
      );
      return {
        status: 200,
        body: {
          conversationId: conversation.id,
          messageId: message.id,
          messageIds: [message.id],
          msg: 'Message queued successfully.',
          status: 'pending',
        },
      };
    },

    'update-message-status': (req) => {
      const message = messageFor(req, req.pathParams.messageId);
      const provider = message.conversationProviderId
        ? state.providers.get(message.conversationProviderId)
        : undefined;
      if (!provider || provider.appId !== deps.config.appId) {
        // Only the provider's own marketplace app may set the status (ConversationProviders.md).
        throw GhlHttpError.forbidden('No conversation provider found for this message');
      }
      const allowedAt = Date.parse(message.dateAdded) + deps.settings.statusUpdateDelaySeconds * 1000;
      if (req.now < allowedAt) {
        // ISSUE #4: "status changes are not allowed until the message is downstreamed to the
        // conversation provider" – 403 for 5–10 s on GHL; retry, do not refresh tokens.
        throw GhlHttpError.forbidden(
          'Status changes are not allowed until the message is downstreamed to the conversation provider',
        );
      }
      const status = str(req.body.status) as MessageDto['status'];
      const error = req.body.error as { code: string; type: string; message: string } | undefined;
      message.status = status;
      message.dateUpdated = new Date(req.now).toISOString();
      message.statusHistory.push({ status, at: message.dateUpdated, ...(error ? { error } : {}) });
      return { status: 200, body: { conversationId: message.conversationId, messageId: message.id, status } };
    },

    'get-message': (req) => {
      // The spec declares no `id` path parameter for this path (a spec slip); the template names it.
      const message = messageFor(req, req.pathParams.id);
      return { status: 200, body: conversations.toApi(message) };
    },

    'get-messages': (req) => {
      const conversation = conversationFor(req, req.pathParams.conversationId);
      const types = req.query.type ? new Set(req.query.type.split(',')) : null;
      let list = [...state.messages.values()]
        .filter((m) => m.conversationId === conversation.id)
        .filter((m) => !types || types.has(m.messageType))
        .reverse(); // newest first
      if (req.query.lastMessageId) {
        const index = list.findIndex((m) => m.id === req.query.lastMessageId);
        list = index === -1 ? [] : list.slice(index + 1);
      }
      const limit = Math.min(Number(req.query.limit ?? '20') || 20, 100);
      const page = list.slice(0, limit);
      return {
        status: 200,
        // Nested as the live API answers, not flat as the spec shows (§4.6, ISSUE #54).
        body: {
          messages: {
            lastMessageId: page.length > 0 ? page[page.length - 1].id : '',
            nextPage: list.length > limit,
            messages: page.map((m) => conversations.toApi(m)),
          },
        },
      };
    },

    'upload-file-attachments': (req) => {
      const locationId = str(req.body.locationId)!;
      assertLocationAccess(tokenOf(req), locationId, state.locations.get(locationId)?.companyId);
      conversationFor(req, str(req.body.conversationId)!);
      const files = req.files.filter((f) => f.field === 'fileAttachment');
      if (files.length === 0) throw GhlHttpError.badRequest('fileAttachment is required');
      const uploadedFiles: Record<string, string> = {};
      for (const file of files) {
        const ext = file.filename.split('.').pop()?.toLowerCase() ?? '';
        // UploadFilesErrorResponseDto: `status`, not `statusCode`, for these two.
        if (!UPLOAD_EXTENSIONS.includes(ext)) {
          throw new GhlHttpError(415, { status: 415, message: 'Failed to upload the files' });
        }
        if (file.data.length > deps.config.uploadMaxBytes) {
          throw new GhlHttpError(413, { status: 413, message: 'Failed to upload the files' });
        }
        const id = state.newId();
        state.files.set(id, { id, name: file.filename, contentType: file.contentType, data: file.data });
        uploadedFiles[file.filename] =
          `${deps.publicUrl()}/_sandbox/files/${id}/${encodeURIComponent(file.filename)}`;
      }
      return { status: 200, body: { uploadedFiles } };
    },
  };
}
