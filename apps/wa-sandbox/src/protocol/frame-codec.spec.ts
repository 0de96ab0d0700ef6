import { encodeFrame, FramingError, IncomingFrameDecoder } from './frame-codec';

const intro = Buffer.from([0x57, 0x41, 6, 3]);

describe('IncomingFrameDecoder', () => {
  it('reads the intro header, then frames split across chunks', () => {
    const decoder = new IncomingFrameDecoder();
    const wire = Buffer.concat([
      intro,
      encodeFrame(Buffer.from('hello')),
      encodeFrame(Buffer.from('world!')),
    ]);
    const frames = [...wire].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(decoder.introHeader).toEqual(intro);
    expect(frames.map((f) => f.toString())).toEqual(['hello', 'world!']);
  });

  it('returns several frames merged into one chunk, and keeps a partial one for later', () => {
    const decoder = new IncomingFrameDecoder();
    const third = encodeFrame(Buffer.from('third'));
    const chunk = Buffer.concat([
      intro,
      encodeFrame(Buffer.from('a')),
      encodeFrame(Buffer.from('bc')),
      third.subarray(0, 4),
    ]);
    expect(decoder.push(chunk).map((f) => f.toString())).toEqual(['a', 'bc']);
    expect(decoder.push(third.subarray(4)).map((f) => f.toString())).toEqual(['third']);
  });

  it('skips an edge-routing prefix and keeps its routing info', () => {
    const decoder = new IncomingFrameDecoder();
    const routing = Buffer.from('edge-1');
    const prefix = Buffer.concat([Buffer.from([0x45, 0x44, 0, 1, 0, 0, routing.length]), routing]);
    const frames = decoder.push(Buffer.concat([prefix, intro, encodeFrame(Buffer.from('x'))]));
    expect(decoder.routingInfo).toEqual(routing);
    expect(frames.map((f) => f.toString())).toEqual(['x']);
  });

  it('rejects a stream that does not start with WA', () => {
    expect(() => new IncomingFrameDecoder().push(Buffer.from('GET / HTTP/1.1'))).toThrow(FramingError);
  });

  it('encodes the length as 3 bytes big-endian', () => {
    const frame = encodeFrame(Buffer.alloc(0x010203));
    expect([...frame.subarray(0, 3)]).toEqual([1, 2, 3]);
  });
});
