import type { GhlSandboxAdminClient } from '@app/ghl-sandbox-client';
import type { WaSandboxAdminClient } from '@app/wa-sandbox-client';
import type { SentMessage } from './checker';

/** One WhatsApp chat the workload writes in: a contact's phone and a linked account (a location's number). */
export interface Chat {
  locationId: string;
  /** The location's linked WhatsApp number (digits). */
  accountPhone: string;
  /** The contact writing to it (digits). */
  contactPhone: string;
}

/** A message put into the system, with what the entry point said about it. */
export interface SentRecord extends SentMessage {
  locationId: string;
  chat: number;
  /** Local time just before the entry point was called. */
  sentAt: number;
  /**
   * Inbound: the WhatsApp sandbox pushed it to a live connection (`live`) or queued it for the
   * device's next login (`queued`). Outbound: GHL accepted it (`live`). `refused`: the entry point
   * answered no (it never went in). `uncertain`: no answer, so it may or may not have gone in.
   */
  entry: 'live' | 'queued' | 'refused' | 'uncertain';
  /** Outbound: the GHL message id. */
  ghlMessageId?: string;
}

export interface WorkloadOptions {
  /** WhatsApp → GHL: messages per second over all chats. */
  inboundPerSecond: number;
  /** GHL → WhatsApp: messages per second over all chats (0: none). */
  outboundPerSecond: number;
  /** Letters and digits (at most 8) that make this run's message ids unique. */
  runTag: string;
  /** The conversation provider GHL users reply through. */
  providerId?: string;
}

const TICK_MS = 5;

/** Keys of one run, so the checkers can match what comes out with what went in. */
export const inboundId = (runTag: string, chat: number, seq: number) =>
  `${runTag}C${String(chat).padStart(5, '0')}S${String(seq).padStart(7, '0')}`;
export const outboundText = (runTag: string, chat: number, seq: number) => `out ${runTag} c${chat} #${seq}`;

/**
 * Open-loop traffic through both entry points: contacts write to the linked numbers through the
 * WhatsApp sandbox, GHL users reply through the GHL sandbox. Each chat sends one message at a time in
 * each direction (the next waits for the entry point to take the previous one), so every chat has a
 * known order the checkers hold the system to. Every send is recorded, whatever happens to it.
 */
export class Workload {
  readonly inbound: SentRecord[] = [];
  readonly outbound: SentRecord[] = [];
  /** Entry-point calls that failed, by message (their records say `uncertain`). */
  readonly errors: { key: string; message: string }[] = [];
  private readonly paused = new Set<string>();
  private readonly inboundSeq: number[];
  private readonly outboundSeq: number[];
  private readonly busy = { inbound: new Set<number>(), outbound: new Set<number>() };
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer?: NodeJS.Timeout;
  private cursor = { inbound: 0, outbound: 0 };

  constructor(
    private readonly wa: WaSandboxAdminClient,
    private readonly ghl: GhlSandboxAdminClient,
    readonly chats: readonly Chat[],
    readonly options: WorkloadOptions,
  ) {
    if (!/^[0-9A-Za-z]{1,8}$/.test(options.runTag)) throw new Error('runTag: 1-8 letters or digits');
    this.inboundSeq = chats.map(() => 0);
    this.outboundSeq = chats.map(() => 0);
  }

  /** Starts sending at the configured rates until `stop()`. */
  start(): void {
    if (this.timer) return;
    const started = performance.now();
    const issued = { inbound: 0, outbound: 0 };
    this.timer = setInterval(() => {
      const elapsedS = (performance.now() - started) / 1000;
      for (const direction of ['inbound', 'outbound'] as const) {
        const rate = direction === 'inbound' ? this.options.inboundPerSecond : this.options.outboundPerSecond;
        const due = Math.floor(elapsedS * rate) - issued[direction];
        for (let i = 0; i < due; i++) {
          const chat = this.nextChat(direction);
          // Every chat busy or paused: the tick's remaining messages are dropped, not queued, so a
          // slow entry point lowers the rate instead of building a backlog.
          issued[direction] += 1;
          if (chat === undefined) continue;
          this.track(direction === 'inbound' ? this.sendInbound(chat) : this.sendOutbound(chat));
        }
      }
    }, TICK_MS);
  }

  /** Stops sending and waits for the calls in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** No new messages for this location's chats until `resume` (e.g. while its number is logged out). */
  pause(locationId: string): void {
    this.paused.add(locationId);
  }

  resume(locationId: string): void {
    this.paused.delete(locationId);
  }

  /** Sends one WhatsApp message in `chat` now (e.g. to create every contact before a measurement). */
  async sendInbound(chat: number): Promise<SentRecord> {
    const { locationId, accountPhone, contactPhone } = this.chats[chat];
    const seq = ++this.inboundSeq[chat];
    const key = inboundId(this.options.runTag, chat, seq);
    this.busy.inbound.add(chat);
    const record: SentRecord = {
      key,
      conversation: `c${chat}`,
      seq,
      locationId,
      chat,
      sentAt: Date.now(),
      entry: 'uncertain',
    };
    this.inbound.push(record);
    try {
      const result = await this.wa.sendText({
        from: contactPhone,
        to: accountPhone,
        id: key,
        text: `in ${this.options.runTag} c${chat} #${seq}`,
      });
      record.entry = result.delivered.length ? 'live' : 'queued';
    } catch (error) {
      this.failed(record, error);
    } finally {
      this.busy.inbound.delete(chat);
    }
    return record;
  }

  /** A GHL user replies in `chat` now. The contact must exist in GHL (an inbound message made it). */
  async sendOutbound(chat: number): Promise<SentRecord> {
    const { locationId, contactPhone } = this.chats[chat];
    const seq = ++this.outboundSeq[chat];
    const key = outboundText(this.options.runTag, chat, seq);
    this.busy.outbound.add(chat);
    const record: SentRecord = {
      key,
      conversation: `c${chat}`,
      seq,
      locationId,
      chat,
      sentAt: Date.now(),
      entry: 'uncertain',
    };
    this.outbound.push(record);
    try {
      const { message } = await this.ghl.simulateUserMessage({
        locationId,
        phone: `+${contactPhone}`,
        message: key,
        ...(this.options.providerId ? { conversationProviderId: this.options.providerId } : {}),
      });
      record.entry = 'live';
      record.ghlMessageId = message.id;
    } catch (error) {
      this.failed(record, error);
    } finally {
      this.busy.outbound.delete(chat);
    }
    return record;
  }

  /** A 4xx answer means the message never went in; anything else leaves it uncertain. */
  private failed(record: SentRecord, error: unknown): void {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) record.entry = 'refused';
    this.errors.push({ key: record.key, message: error instanceof Error ? error.message : String(error) });
  }

  private nextChat(direction: 'inbound' | 'outbound'): number | undefined {
    for (let tried = 0; tried < this.chats.length; tried++) {
      const chat = this.cursor[direction];
      this.cursor[direction] = (chat + 1) % this.chats.length;
      if (!this.busy[direction].has(chat) && !this.paused.has(this.chats[chat].locationId)) return chat;
    }
    return undefined;
  }

  private track(work: Promise<unknown>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}
