/**
 * WhatsApp Web transport framing: every frame is a 3-byte big-endian length and the payload; frames
 * may be split or merged across WebSocket messages. The client's first bytes carry an intro header
 * (`W A <proto> <dict>`), optionally preceded by an edge-routing prefix (`E D 0 1 <len:3> <info>`).
 * Server frames carry no header.
 */

export class FramingError extends Error {}

const MAX_FRAME = 0xffffff;
const INTRO_LENGTH = 4;
const ROUTING_PREFIX_LENGTH = 7;

export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME) throw new FramingError(`frame of ${payload.length} bytes is too large`);
  const frame = Buffer.allocUnsafe(3 + payload.length);
  frame.writeUIntBE(payload.length, 0, 3);
  frame.set(payload, 3);
  return frame;
}

export class IncomingFrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private intro?: Buffer;
  private routing?: Buffer;

  /** The 4-byte intro header the client sent (`WA`, protocol version, dictionary version). */
  get introHeader(): Buffer | undefined {
    return this.intro;
  }

  /** The edge-routing info the client sent back, if any. */
  get routingInfo(): Buffer | undefined {
    return this.routing;
  }

  /** Feeds raw bytes; returns every frame completed by them, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.intro && !this.readIntro()) return [];
    const frames: Buffer[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 3) {
      const length = this.pending.readUIntBE(offset, 3);
      if (this.pending.length - offset - 3 < length) break;
      frames.push(Buffer.from(this.pending.subarray(offset + 3, offset + 3 + length)));
      offset += 3 + length;
    }
    this.pending = offset === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(offset);
    return frames;
  }

  private readIntro(): boolean {
    let offset = 0;
    if (this.pending[0] === 0x45 /* E */ && this.pending[1] === 0x44 /* D */) {
      if (this.pending.length < ROUTING_PREFIX_LENGTH) return false;
      const routingLength = this.pending.readUIntBE(4, 3);
      offset = ROUTING_PREFIX_LENGTH + routingLength;
      if (this.pending.length < offset) return false;
      this.routing = Buffer.from(this.pending.subarray(ROUTING_PREFIX_LENGTH, offset));
    }
    if (this.pending.length < offset + INTRO_LENGTH) return false;
    const intro = Buffer.from(this.pending.subarray(offset, offset + INTRO_LENGTH));
    if (intro[0] !== 0x57 /* W */ || intro[1] !== 0x41 /* A */) {
      throw new FramingError(`bad intro header ${intro.toString('hex')}`);
    }
    this.intro = intro;
    this.pending = this.pending.subarray(offset + INTRO_LENGTH);
    return true;
  }
}
