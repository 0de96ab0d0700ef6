import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Logger } from '../common/logger';
import type { ClientConnection } from '../connection/client-connection';
import type { AccountDirectory } from '../directory/account-directory';
import type { DeviceKeyBundle } from '../phone/simulated-phone';
import type { PairingService } from '../pairing/pairing.service';
import {
  bigEndian,
  child,
  children,
  contentBuffer,
  firstChild,
  iqError,
  iqResult,
  node,
  readBigEndian,
} from '../protocol/nodes';
import { answerUsync } from './usync';

/** What the responder needs from the rest of the sandbox when a companion logs itself out. */
export interface CompanionLogoutHandler {
  companionLoggedOut(connection: ClientConnection): void;
}

/**
 * Answers every iq a companion sends, with the children Baileys reads; anything unknown gets an empty
 * `result` (an unanswered iq would stall Baileys for `defaultQueryTimeoutMs`).
 */
export class IqResponder {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly pairing: PairingService,
    private readonly logout: CompanionLogoutHandler,
    private readonly logger: Logger,
  ) {}

  async handle(connection: ClientConnection, iq: BinaryNode): Promise<void> {
    const reply = await this.answer(connection, iq);
    if (reply) connection.send(reply);
  }

  private async answer(connection: ClientConnection, iq: BinaryNode): Promise<BinaryNode | undefined> {
    const { xmlns, type } = iq.attrs;
    const first = firstChild(iq);
    switch (xmlns) {
      case 'encrypt':
        return this.encrypt(connection, iq, type, first);
      case 'usync':
        return answerUsync(this.directory, iq);
      case 'md':
        return this.md(connection, iq, first);
      case 'abt':
        return iqResult(iq, [node('props', { protocol: '1', hash: 'wa-sandbox-1' })]);
      case 'privacy':
        return type === 'get' ? iqResult(iq, [privacySettings()]) : iqResult(iq);
      case 'blocklist':
        return type === 'get' ? iqResult(iq, [node('list', {})]) : iqResult(iq);
      case 'w:sync:app:state':
        return iqResult(iq, [appStateAnswer(iq)]);
      case 'w:profile:picture':
        return type === 'get' ? iqError(iq, 404, 'item-not-found') : iqResult(iq);
      case 'w:m':
        // No media server: uploads fail fast instead of hanging.
        return iqError(iq, 501, 'feature-not-implemented');
      case 'w:g2':
        return first?.tag === 'participating'
          ? iqResult(iq, [node('groups', {})])
          : iqError(iq, 404, 'item-not-found');
      default:
        // ping (w:p), passive, w:stats, status, dirty bits, ...: an empty result is what Baileys needs.
        if (xmlns !== 'w:p' && xmlns !== 'passive')
          this.logger.debug({ xmlns, type, child: first?.tag }, 'default iq answer');
        return iqResult(iq);
    }
  }

  private async encrypt(
    connection: ClientConnection,
    iq: BinaryNode,
    type: string | undefined,
    first: BinaryNode | undefined,
  ): Promise<BinaryNode> {
    const device = connection.device;
    if (type === 'get' && first?.tag === 'count') {
      return iqResult(iq, [node('count', { value: String(device?.preKeys.size ?? 0) })]);
    }
    if (type === 'get' && first?.tag === 'digest') {
      // Baileys only checks that a digest exists; without it, it re-uploads every prekey.
      return iqResult(iq, [node('digest', {})]);
    }
    if (type === 'get' && first?.tag === 'key') {
      return iqResult(iq, [node('list', {}, await this.keyBundles(children(first, 'user')))]);
    }
    if (type === 'set' && child(iq, 'list')) {
      const keys = children(child(iq, 'list'), 'key').flatMap((k) => {
        const id = contentBuffer(child(k, 'id'));
        const value = contentBuffer(child(k, 'value'));
        return id && value?.length === 32 ? [{ id: readBigEndian(id), publicKey: value }] : [];
      });
      device?.preKeys.add(keys);
      const skey = child(iq, 'skey');
      if (device && skey) this.updateSignedPreKey(device, skey);
      return iqResult(iq);
    }
    if (type === 'set' && first?.tag === 'rotate') {
      const skey = child(first, 'skey');
      if (device && skey) this.updateSignedPreKey(device, skey);
      return iqResult(iq);
    }
    return iqResult(iq);
  }

  private updateSignedPreKey(device: NonNullable<ClientConnection['device']>, skey: BinaryNode): void {
    const id = contentBuffer(child(skey, 'id'));
    const publicKey = contentBuffer(child(skey, 'value'));
    const signature = contentBuffer(child(skey, 'signature'));
    if (id && publicKey && signature) device.signedPreKey = { id: readBigEndian(id), publicKey, signature };
  }

  private async keyBundles(users: BinaryNode[]): Promise<BinaryNode[]> {
    const out: BinaryNode[] = [];
    for (const user of users) {
      const jid = user.attrs.jid ?? '';
      const resolved = this.directory.resolveJid(jid);
      let bundle: DeviceKeyBundle | undefined;
      if (resolved && resolved.deviceId === 0) bundle = await resolved.account.primaryPhone.issueKeyBundle();
      else if (resolved?.device) bundle = resolved.device.takeKeyBundle();
      out.push(
        bundle
          ? bundleNode(jid, bundle)
          : node('user', { jid }, [node('error', { code: '404', text: 'item-not-found' })]),
      );
    }
    return out;
  }

  private md(
    connection: ClientConnection,
    iq: BinaryNode,
    first: BinaryNode | undefined,
  ): BinaryNode | undefined {
    if (first?.tag === 'link_code_companion_reg') {
      switch (first.attrs.stage) {
        case 'companion_hello':
          this.pairing.handleCompanionHello(connection, iq, first);
          return undefined;
        case 'companion_finish':
          this.pairing.handleCompanionFinish(connection, iq, first);
          return undefined;
        default:
          return iqError(iq, 400, 'bad-request');
      }
    }
    if (first?.tag === 'remove-companion-device') {
      this.logout.companionLoggedOut(connection);
      return iqResult(iq);
    }
    return iqResult(iq);
  }
}

function bundleNode(jid: string, bundle: DeviceKeyBundle): BinaryNode {
  return node('user', { jid }, [
    node('registration', {}, bigEndian(bundle.registrationId, 4)),
    node('type', {}, Buffer.from([5])),
    node('identity', {}, bundle.identityKey),
    node('skey', {}, [
      node('id', {}, bigEndian(bundle.signedPreKey.id, 3)),
      node('value', {}, bundle.signedPreKey.publicKey),
      node('signature', {}, bundle.signedPreKey.signature),
    ]),
    ...(bundle.preKey
      ? [
          node('key', {}, [
            node('id', {}, bigEndian(bundle.preKey.id, 3)),
            node('value', {}, bundle.preKey.publicKey),
          ]),
        ]
      : []),
  ]);
}

function privacySettings(): BinaryNode {
  const categories: [string, string][] = [
    ['last', 'all'],
    ['online', 'all'],
    ['profile', 'all'],
    ['status', 'contacts'],
    ['readreceipts', 'all'],
    ['groupadd', 'all'],
    ['calladd', 'all'],
  ];
  return node(
    'privacy',
    {},
    categories.map(([name, value]) => node('category', { name, value })),
  );
}

/** Every requested collection, empty and complete: Baileys loops until each one is answered. */
function appStateAnswer(iq: BinaryNode): BinaryNode {
  const collections = children(child(iq, 'sync'), 'collection').map((c) => {
    const version = Number(c.attrs.version ?? '0');
    const pushed = children(c, 'patch').length;
    return node('collection', { name: c.attrs.name ?? '', version: String(version + pushed) });
  });
  return node('sync', {}, collections);
}
