import { eventually } from '@app/testing';
import type { Json } from './api-harness';

export interface SseFrame {
  event: string;
  id: string | null;
  data: Record<string, Json>;
  headers: Headers;
  receivedAt: number;
}

/** A server-sent-events client for tests: fetch with a bearer token, frames kept in arrival order. */
export class SseReader {
  readonly frames: SseFrame[] = [];
  private readonly consumed = new Set<SseFrame>();
  /** Resolves when the server ends the stream (or it is closed here). */
  ended: Promise<void> = Promise.resolve();

  private constructor(
    private readonly controller: AbortController,
    readonly headers: Headers,
  ) {}

  static async open(url: string, token: string): Promise<SseReader> {
    const controller = new AbortController();
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (res.status !== 200 || !res.body)
      throw new Error(`stream answered ${res.status}: ${await res.text()}`);
    const reader = new SseReader(controller, res.headers);
    reader.ended = reader.pump(res.body);
    return reader;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let id: string | null = null;
          let data = '';
          for (const line of raw.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) {
            const parsed: unknown = JSON.parse(data);
            this.frames.push({
              event,
              id,
              data: parsed as Record<string, Json>,
              headers: this.headers,
              receivedAt: Date.now(),
            });
          }
        }
      }
    } catch {
      // aborted by close()
    }
  }

  /** The first frame named `event` not returned before; waits for it. */
  async next(event: string, timeoutMs = 5_000): Promise<SseFrame> {
    return eventually(
      () => {
        const frame = this.frames.find((f) => f.event === event && !this.consumed.has(f));
        if (!frame)
          throw new Error(
            `no "${event}" frame yet; got ${this.frames.map((f) => f.event).join(', ') || 'none'}`,
          );
        this.consumed.add(frame);
        return frame;
      },
      { timeoutMs, intervalMs: 10 },
    );
  }

  close(): void {
    this.controller.abort();
  }
}
