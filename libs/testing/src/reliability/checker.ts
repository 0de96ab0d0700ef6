/**
 * Jepsen-style checks over a recorded history: what the test sent into the system, one conversation at
 * a time in a known order, against what came out at the other end (the GHL sandbox's stored messages,
 * the WhatsApp sandbox's outbox), in the order it came out. Pure functions, so the verdicts are unit
 * tested apart from any running system.
 */

/** One message the test put into the system. */
export interface SentMessage {
  /** What identifies the message at the other end (WhatsApp id → GHL `altId`; text → outbox). */
  key: string;
  /** Messages of one conversation must come out in `seq` order. */
  conversation: string;
  seq: number;
  /**
   * Set when the message may legitimately never come out, with the reason (e.g. it waited for a
   * device the phone then logged out). A missing excluded message is reported, not counted as lost.
   */
  excusedIfMissing?: string;
}

/** One message seen at the other end, in the order the other end stored it. */
export interface ObservedMessage {
  key: string;
}

export interface Reordering {
  conversation: string;
  /** The message that came out late... */
  key: string;
  seq: number;
  /** ...after this one, sent later in the same conversation. */
  afterSeq: number;
}

export interface DeliveryReport {
  sent: number;
  /** Distinct sent messages that came out. */
  delivered: number;
  lost: string[];
  /** Missing messages with a reason that excuses them, by reason. */
  excused: Record<string, string[]>;
  /** Messages that came out more than once, with how many copies. */
  duplicated: { key: string; copies: number }[];
  /** Messages that came out after a later message of their conversation. */
  reordered: Reordering[];
  /** Things that came out but were never sent (counted; their keys, up to 20). */
  unexpected: string[];
}

const UNEXPECTED_KEPT = 20;

/** Compares one direction's history with what came out. */
export function checkDeliveries(
  sent: readonly SentMessage[],
  observed: readonly ObservedMessage[],
): DeliveryReport {
  const byKey = new Map(sent.map((m) => [m.key, m]));
  const copies = new Map<string, number>();
  const highestSeq = new Map<string, number>();
  const reordered: Reordering[] = [];
  const unexpected: string[] = [];
  for (const { key } of observed) {
    const message = byKey.get(key);
    if (!message) {
      if (unexpected.length < UNEXPECTED_KEPT) unexpected.push(key);
      continue;
    }
    const n = (copies.get(key) ?? 0) + 1;
    copies.set(key, n);
    if (n > 1) continue; // a duplicate is reported as one; its position says nothing about order
    const highest = highestSeq.get(message.conversation);
    if (highest !== undefined && message.seq < highest) {
      reordered.push({ conversation: message.conversation, key, seq: message.seq, afterSeq: highest });
    } else {
      highestSeq.set(message.conversation, message.seq);
    }
  }
  const lost: string[] = [];
  const excused: Record<string, string[]> = {};
  for (const message of sent) {
    if (copies.has(message.key)) continue;
    if (message.excusedIfMissing) (excused[message.excusedIfMissing] ??= []).push(message.key);
    else lost.push(message.key);
  }
  return {
    sent: sent.length,
    delivered: copies.size,
    lost,
    excused,
    duplicated: [...copies].filter(([, n]) => n > 1).map(([key, n]) => ({ key, copies: n })),
    reordered,
    unexpected,
  };
}

/** What the WhatsApp sandbox and the sessions' projection say at the end of a run. */
export interface SessionFindings {
  /** Logins of a device while another connection of it was open (the sandbox then sends the old one 440). */
  doubleConnections: number;
  /** 440s the sandbox sent because of a second login, not because a fault asked for them. */
  selfInflicted440s: number;
  /** Sessions not `open` at the end, with their state. */
  notOpen: { locationId: string; state: string }[];
}

export interface SystemCheck {
  inbound: DeliveryReport;
  outbound?: DeliveryReport;
  sessions: SessionFindings;
  /** GHL contacts created twice for one phone in one location. */
  duplicateContacts: number;
}

/**
 * Every way the run broke a target, in plain words; empty when it met them all. `order: false` leaves
 * order out (for runs whose faults the system does not promise to keep order through).
 */
export function violations(check: SystemCheck, { order = true }: { order?: boolean } = {}): string[] {
  const found: string[] = [];
  const direction = (name: string, report: DeliveryReport | undefined) => {
    if (!report) return;
    if (report.lost.length) found.push(`${name}: ${report.lost.length} lost (e.g. ${report.lost[0]})`);
    if (report.duplicated.length)
      found.push(`${name}: ${report.duplicated.length} duplicated (e.g. ${report.duplicated[0].key})`);
    if (order && report.reordered.length)
      found.push(`${name}: ${report.reordered.length} out of order (e.g. ${report.reordered[0].key})`);
    if (report.unexpected.length) found.push(`${name}: messages nobody sent (e.g. ${report.unexpected[0]})`);
  };
  direction('WhatsApp → GHL', check.inbound);
  direction('GHL → WhatsApp', check.outbound);
  const { sessions } = check;
  if (sessions.doubleConnections) found.push(`${sessions.doubleConnections} double WhatsApp connections`);
  if (sessions.selfInflicted440s) found.push(`${sessions.selfInflicted440s} self-inflicted 440s`);
  if (sessions.notOpen.length)
    found.push(
      `${sessions.notOpen.length} sessions not open (${sessions.notOpen
        .slice(0, 3)
        .map((s) => `${s.locationId}: ${s.state}`)
        .join(', ')})`,
    );
  if (check.duplicateContacts) found.push(`${check.duplicateContacts} duplicate GHL contacts`);
  return found;
}
