import type { MessageContent } from '@app/contracts';

/**
 * A WhatsApp message as GHL takes it: text as the body; media as an attachment URL when the bytes are
 * reachable at one (GHL accepts URLs, §4.2), with the caption as the body; media whose bytes stay on
 * WhatsApp becomes a labelled body so the conversation still shows that something was sent.
 */
export function ghlMessageBody(content: MessageContent): { message?: string; attachments?: string[] } {
  switch (content.kind) {
    case 'text':
      return { message: content.text };
    case 'media': {
      const caption = content.caption?.trim() || undefined;
      if (content.url) return { ...(caption ? { message: caption } : {}), attachments: [content.url] };
      const label = `[${content.mediaType}${content.fileName ? `: ${content.fileName}` : ''}]`;
      return { message: caption ? `${label} ${caption}` : label };
    }
  }
}

/** `15551234567@s.whatsapp.net` / `…@lid` / groups: only one-to-one chats with a phone are synced. */
export function isDirectChat(chatJid: string): boolean {
  return chatJid.endsWith('@s.whatsapp.net') || chatJid.endsWith('@lid') || chatJid.endsWith('@c.us');
}
