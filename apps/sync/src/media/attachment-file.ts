import type { MessageContent } from '@app/contracts';

export type MediaContent = Extract<MessageContent, { kind: 'media' }>;

/** The file types GHL's upload takes, by extension (GHL-CONTRACT §4.7); anything else is a 415. */
export const GHL_UPLOAD_EXTENSIONS: ReadonlySet<string> = new Set([
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
]);

/** WhatsApp's mimetypes of those types (voice notes are `audio/ogg`, stickers `image/webp`: not taken). */
const EXTENSION_BY_MIMETYPE: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'video/mp4': 'mp4',
  'video/mpeg': 'mpeg',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  'application/vnd.rar': 'rar',
  'application/x-rar-compressed': 'rar',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/plain': 'txt',
};

function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 ? fileName.slice(dot + 1).toLowerCase() : '';
}

/**
 * The name a WhatsApp media file is uploaded to GHL under (GHL decides the type by its extension):
 * the sender's file name when GHL takes its extension, else a name with the extension of its
 * mimetype; null when GHL takes neither (the message then says what was sent instead).
 */
export function attachmentFileName(media: MediaContent, waMessageId: string): string | null {
  const given = media.fileName?.trim() || null;
  if (given && GHL_UPLOAD_EXTENSIONS.has(extensionOf(given))) return given;
  const extension = EXTENSION_BY_MIMETYPE[media.mimetype.split(';')[0].trim().toLowerCase()];
  if (!extension) return null;
  const base = given ? given.replace(/\.[^.]*$/, '') : `whatsapp-${media.mediaType}-${waMessageId}`;
  return `${base}.${extension}`;
}
