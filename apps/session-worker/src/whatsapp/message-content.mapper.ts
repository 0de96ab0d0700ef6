import type { MessageContent } from '@app/contracts';

/**
 * The subset of a WhatsApp message (Baileys' `proto.IMessage`) we read, typed structurally so this
 * module stays free of the Baileys import and can be unit tested.
 */
interface MediaFields {
  mimetype?: string | null;
  caption?: string | null;
  fileName?: string | null;
  fileLength?: number | Long | string | null;
}
interface Long {
  toNumber(): number;
}
export interface WaMessageLike {
  conversation?: string | null;
  extendedTextMessage?: { text?: string | null } | null;
  imageMessage?: MediaFields | null;
  videoMessage?: MediaFields | null;
  audioMessage?: MediaFields | null;
  documentMessage?: MediaFields | null;
  stickerMessage?: MediaFields | null;
  ephemeralMessage?: { message?: WaMessageLike | null } | null;
  viewOnceMessage?: { message?: WaMessageLike | null } | null;
  documentWithCaptionMessage?: { message?: WaMessageLike | null } | null;
}

const MEDIA = [
  ['imageMessage', 'image'],
  ['videoMessage', 'video'],
  ['audioMessage', 'audio'],
  ['documentMessage', 'document'],
  ['stickerMessage', 'sticker'],
] as const;

function sizeOf(value: MediaFields['fileLength']): number | null {
  if (value == null) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value) || null;
  return value.toNumber();
}

/** Text or media metadata; null for protocol messages, reactions and anything else not bridged. */
export function mapMessageContent(message: WaMessageLike | null | undefined): MessageContent | null {
  if (!message) return null;
  const wrapped =
    message.ephemeralMessage?.message ??
    message.viewOnceMessage?.message ??
    message.documentWithCaptionMessage?.message;
  if (wrapped) return mapMessageContent(wrapped);
  const text = message.conversation ?? message.extendedTextMessage?.text;
  if (text) return { kind: 'text', text };
  for (const [field, mediaType] of MEDIA) {
    const media = message[field];
    if (media) {
      return {
        kind: 'media',
        mediaType,
        mimetype: media.mimetype || 'application/octet-stream',
        caption: media.caption || null,
        fileName: media.fileName || null,
        sizeBytes: sizeOf(media.fileLength),
        url: null,
      };
    }
  }
  return null;
}
