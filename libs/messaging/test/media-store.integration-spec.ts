import { randomBytes } from 'node:crypto';
import { MEDIA_BUCKET, MediaStore } from '../src/media-store';
import { startBus, type BusHarness } from './bus-harness';

describe('MediaStore (JetStream object store)', () => {
  let bus: BusHarness;

  beforeAll(async () => {
    bus = await startBus();
  });
  afterAll(() => bus.close());

  it('keeps media bytes beside the bus: stored by name, read back whole by another connection, deleted', async () => {
    const writer = new MediaStore(bus.connection, { maxAgeMs: 60_000 });
    const reader = new MediaStore(await bus.connect('reader'));
    // Three times NATS's default max payload (1 MiB): chunked, never one message.
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const stored = await writer.put({ locationId: 'locA', waMessageId: '3EB0MEDIA1' }, bytes, 'video/mp4');

    expect(stored).toEqual({ objectName: 'locA/3EB0MEDIA1', sizeBytes: bytes.length });
    const name = stored.objectName;
    expect(Buffer.from((await reader.get(name))!).equals(bytes)).toBe(true);
    const jsm = await bus.connection.jsm();
    const stream = await jsm.streams.info(`OBJ_${MEDIA_BUCKET}`);
    expect(stream.config.max_age).toBe(60_000 * 1_000_000);
    expect(stream.state.messages).toBeGreaterThan(3 * 8);

    await reader.delete(name);
    expect(await writer.get(name)).toBeNull();
    await reader.delete(name);
  });

  it('answers null for a name it never stored', async () => {
    expect(await new MediaStore(bus.connection).get('locA/never')).toBeNull();
  });
});
