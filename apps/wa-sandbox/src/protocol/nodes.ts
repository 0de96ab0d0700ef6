import { getBinaryNodeChild, getBinaryNodeChildren, type BinaryNode } from '@whiskeysockets/baileys';

/** Helpers to read and build the binary nodes (stanzas) of the WhatsApp Web protocol. */

export const S_WHATSAPP_NET = 's.whatsapp.net';

export type { BinaryNode };

export function nowSeconds(): string {
  return String(Math.floor(Date.now() / 1000));
}

export function child(node: BinaryNode | undefined, tag: string): BinaryNode | undefined {
  return getBinaryNodeChild(node, tag);
}

export function children(node: BinaryNode | undefined, tag: string): BinaryNode[] {
  return getBinaryNodeChildren(node, tag);
}

export function firstChild(node: BinaryNode): BinaryNode | undefined {
  return Array.isArray(node.content) ? node.content[0] : undefined;
}

export function contentBuffer(node: BinaryNode | undefined): Buffer | undefined {
  const content = node?.content;
  if (content instanceof Uint8Array) return Buffer.from(content);
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return undefined;
}

/** The bytes of a required child, or an error naming it. */
export function requireChildBuffer(node: BinaryNode | undefined, tag: string): Buffer {
  const buffer = contentBuffer(child(node, tag));
  if (!buffer) throw new Error(`<${node?.tag ?? '?'}> lacks <${tag}>`);
  return buffer;
}

export function bigEndian(value: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
}

export function readBigEndian(buffer: Uint8Array): number {
  return Buffer.from(buffer).readUIntBE(0, buffer.length);
}

export function node(
  tag: string,
  attrs: Record<string, string> = {},
  content?: BinaryNode['content'],
): BinaryNode {
  return content === undefined ? { tag, attrs } : { tag, attrs, content };
}

export function iqResult(request: BinaryNode, content?: BinaryNode[]): BinaryNode {
  return node('iq', { from: S_WHATSAPP_NET, type: 'result', id: request.attrs.id ?? '' }, content);
}

export function iqError(request: BinaryNode, code: number, text: string): BinaryNode {
  return node('iq', { from: S_WHATSAPP_NET, type: 'error', id: request.attrs.id ?? '' }, [
    node('error', { code: String(code), text }),
  ]);
}

/** `<ack>` for a stanza the client sent (message, receipt, notification, call). */
export function ackFor(stanza: BinaryNode, extra: Record<string, string> = {}): BinaryNode {
  const attrs: Record<string, string> = { id: stanza.attrs.id ?? '', class: stanza.tag, ...extra };
  if (stanza.attrs.type && stanza.tag !== 'message') attrs.type = stanza.attrs.type;
  if (!attrs.from) attrs.from = stanza.attrs.to ?? S_WHATSAPP_NET;
  return node('ack', attrs);
}

/** How the server ends a stream; Baileys maps these through `getErrorCodeFromStreamError`. */
export const streamErrors = {
  /** 440 `Stream Errored (conflict)`. */
  replaced: (): BinaryNode => node('stream:error', {}, [node('conflict', { type: 'replaced' })]),
  /** 515 `Stream Errored (restart required)`. */
  restart: (): BinaryNode => node('stream:error', { code: '515' }),
  /** 401 `Stream Errored (conflict)`: the `code` attribute wins over the child. */
  deviceRemoved: (): BinaryNode =>
    node('stream:error', { code: '401' }, [node('conflict', { type: 'device_removed' })]),
};

/** Login refused; Baileys ends with `Connection Failure` and this status code. */
export function failure(reason: number): BinaryNode {
  return node('failure', { reason: String(reason), location: 'sandbox' });
}
