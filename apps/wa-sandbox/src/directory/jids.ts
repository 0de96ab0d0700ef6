/** JID helpers for the two user servers the sandbox knows: phone numbers and LIDs. Pure string work. */

export const PN_SERVER = 's.whatsapp.net';
export const LID_SERVER = 'lid';

export interface ParsedJid {
  user: string;
  /** 0 (the primary phone) when the JID carries no device. */
  device: number;
  server: string;
}

/** Parses `user[_agent][:device]@server`; undefined for anything else. */
export function parseJid(jid: string | undefined): ParsedJid | undefined {
  if (!jid) return undefined;
  const at = jid.indexOf('@');
  if (at <= 0) return undefined;
  const server = jid.slice(at + 1);
  const [userAgent, deviceText] = jid.slice(0, at).split(':');
  const user = userAgent.split('_')[0];
  const device = deviceText === undefined ? 0 : Number(deviceText);
  if (!user || !Number.isInteger(device) || device < 0) return undefined;
  return { user, device, server };
}

export function pnJid(phone: string, device = 0): string {
  return device ? `${phone}:${device}@${PN_SERVER}` : `${phone}@${PN_SERVER}`;
}

export function lidJid(lidUser: string, device = 0): string {
  return device ? `${lidUser}:${device}@${LID_SERVER}` : `${lidUser}@${LID_SERVER}`;
}
