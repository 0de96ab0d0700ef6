import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account } from '../directory/account';
import type { AccountDirectory } from '../directory/account-directory';
import { parseJid, PN_SERVER, pnJid } from '../directory/jids';
import { child, children, contentBuffer, iqResult, node } from '../protocol/nodes';

/**
 * Answers `usync` queries (device lists, PN→LID, "is on WhatsApp", status). Unknown phone numbers
 * become simulated contacts on first sight, so a companion can write to any number.
 */
export function answerUsync(directory: AccountDirectory, iq: BinaryNode): BinaryNode {
  const usync = child(iq, 'usync');
  const protocols = (
    Array.isArray(child(usync, 'query')?.content) ? (child(usync, 'query')?.content as BinaryNode[]) : []
  ).map((p) => p.tag);
  const users = children(child(usync, 'list'), 'user').map((user) => answerUser(directory, user, protocols));
  return iqResult(iq, [
    node('usync', { ...(usync?.attrs ?? {}) }, [node('result', {}), node('list', {}, users)]),
  ]);
}

function answerUser(directory: AccountDirectory, user: BinaryNode, protocols: string[]): BinaryNode {
  const phoneQuery = contentBuffer(child(user, 'contact'))?.toString().replace(/^\+/, '');
  let jid = user.attrs.jid;
  let account: Account | undefined;
  if (jid) {
    account = directory.resolveJid(jid)?.account;
    const parsed = parseJid(jid);
    if (!account && parsed?.server === PN_SERVER && /^\d{6,15}$/.test(parsed.user)) {
      account = directory.ensure(parsed.user).account;
    }
  } else if (phoneQuery && /^\d{6,15}$/.test(phoneQuery)) {
    account = directory.ensure(phoneQuery).account;
    jid = pnJid(phoneQuery);
  }
  const content: BinaryNode[] = [];
  for (const protocol of protocols) {
    switch (protocol) {
      case 'contact':
        content.push(node('contact', { type: account ? 'in' : 'out' }));
        break;
      case 'lid':
        if (account) content.push(node('lid', { val: account.lidJid }));
        break;
      case 'devices':
        if (account) content.push(deviceList(account));
        break;
      case 'status':
        if (account) content.push(node('status', { t: '0' }, Buffer.from('Available')));
        break;
      case 'disappearing_mode':
        content.push(node('disappearing_mode', { duration: '0', t: '0' }));
        break;
      default:
        break;
    }
  }
  return node('user', { jid: jid ?? '' }, content);
}

/** Device 0 is the phone; linked devices must carry `key-index` or Baileys drops them. */
function deviceList(account: Account): BinaryNode {
  return node('devices', {}, [
    node('device-list', {}, [
      node('device', { id: '0' }),
      ...[...account.devices.values()].map((d) =>
        node('device', { id: String(d.deviceId), 'key-index': String(d.keyIndex) }),
      ),
    ]),
  ]);
}
