import type { MessageContent } from '@app/contracts';

/**
 * A WhatsApp message as GHL takes it: text as the body; media as an attachment URL (GHL accepts URLs,
 * §4.2) when the bytes are at one, or were `uploaded` to GHL, with the caption as the body; media GHL
 * could not get becomes a labelled body so the conversation still shows that something was sent.
 */
export function ghlMessageBody(
  content: MessageContent,
  uploaded?: string | null,
): { message?: string; attachments?: string[] } {
  switch (content.kind) {
    case 'text':
      return { message: content.text };
    case 'media': {
      const caption = content.caption?.trim() || undefined;
      const url = content.url ?? uploaded;
      if (url) return { ...(caption ? { message: caption } : {}), attachments: [url] };
      const label = `[${content.mediaType}${content.fileName ? `: ${content.fileName}` : ''}]`;
      return { message: caption ? `${label} ${caption}` : label };
    }
  }
}

/** `15551234567@s.whatsapp.net` / `…@lid` / groups: only one-to-one chats with a phone are synced. */
export function isDirectChat(chatJid: string): boolean {
  return chatJid.endsWith('@s.whatsapp.net') || chatJid.endsWith('@lid') || chatJid.endsWith('@c.us');
}
