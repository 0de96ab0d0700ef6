import { ConsumerConfig, ConsumerInfo, JetStreamManager, NatsError, StreamInfo } from 'nats';
import type { Logger } from 'pino';
import { MessagingConnection } from './nats-connection';
import {
  ConsumerDefinition,
  resolveConsumerDefinition,
  StreamDefinition,
  streamDefinitions,
  StreamTopologyOptions,
  toConsumerConfig,
  toStreamConfig,
} from './topology';

// JetStream API error codes (server `errors.json`), stable across 2.9+.
const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_NOT_FOUND = 10014;
const CONSUMER_NAME_IN_USE = 10013;
const CONSUMER_ALREADY_EXISTS = 10148;

const STREAM_FIELDS = [
  'subjects',
  'max_age',
  'duplicate_window',
  'num_replicas',
  'storage',
  'retention',
  'discard',
] as const;
const IMMUTABLE_STREAM_FIELDS = new Set<string>(['storage', 'retention']);
const CONSUMER_FIELDS = [
  'filter_subject',
  'max_deliver',
  'ack_wait',
  'max_ack_pending',
  'ack_policy',
  'deliver_policy',
] as const;
const IMMUTABLE_CONSUMER_FIELDS = new Set<string>(['ack_policy', 'deliver_policy']);

/**
 * Creates or updates the streams and durable consumers declared in code. Every replica runs it at
 * boot, possibly at the same moment, so each step tolerates losing the race to another replica.
 */
export class StreamProvisioner {
  readonly streams: readonly StreamDefinition[];
  private readonly logger: Logger;

  constructor(
    private readonly connection: MessagingConnection,
    logger: Logger,
    topology: StreamTopologyOptions = {},
  ) {
    this.streams = streamDefinitions(topology);
    this.logger = logger.child({ component: 'stream-provisioner' });
  }

  async ensureStreams(): Promise<StreamInfo[]> {
    const infos: StreamInfo[] = [];
    for (const def of this.streams) infos.push(await this.ensureStream(def));
    return infos;
  }

  async ensureStream(def: StreamDefinition): Promise<StreamInfo> {
    const jsm = await this.connection.jsm();
    const desired = toStreamConfig(def);
    let current = await streamInfoOrNull(jsm, def.name);
    if (current === null) {
      try {
        const created = await jsm.streams.add(desired);
        this.logger.info({ stream: def.name, subjects: def.subjects }, 'stream created');
        return created;
      } catch (err) {
        // Another replica created it between our lookup and our add, with a config we then compare.
        if (apiErrorCode(err) !== STREAM_NAME_IN_USE)
          throw provisioningError(`create stream ${def.name}`, err);
        current = await jsm.streams.info(def.name);
      }
    }
    const changed = differingFields(current.config, desired, STREAM_FIELDS);
    if (changed.length === 0) return current;
    const immutable = changed.filter((field) => IMMUTABLE_STREAM_FIELDS.has(field));
    if (immutable.length > 0) {
      throw new Error(
        `stream ${def.name} exists with a different ${immutable.join(', ')}, which cannot be changed in place; ` +
          'migrate it by hand (or delete it in a dev environment)',
      );
    }
    try {
      const updated = await jsm.streams.update(def.name, { ...current.config, ...desired });
      this.logger.info({ stream: def.name, changed }, 'stream updated to the configuration in code');
      return updated;
    } catch (err) {
      throw provisioningError(`update stream ${def.name} (${changed.join(', ')})`, err);
    }
  }

  async ensureConsumer(definition: ConsumerDefinition): Promise<ConsumerInfo> {
    const def = resolveConsumerDefinition(definition);
    const jsm = await this.connection.jsm();
    const desired = toConsumerConfig(def);
    const what = `consumer ${def.durable} on ${def.stream}`;
    const current = await consumerInfoOrNull(jsm, def.stream, def.durable);
    if (current !== null) {
      const changed = differingFields(current.config, desired, CONSUMER_FIELDS);
      if (changed.length === 0) return current;
      const immutable = changed.filter((field) => IMMUTABLE_CONSUMER_FIELDS.has(field));
      if (immutable.length > 0) {
        throw new Error(
          `${what} exists with a different ${immutable.join(', ')}, which cannot be changed; ` +
            'give the consumer a new durable name or delete the old one',
        );
      }
      const updated = await this.updateConsumer(jsm, def.stream, def.durable, desired, what);
      this.logger.info({ stream: def.stream, consumer: def.durable, changed }, 'consumer updated');
      return updated;
    }
    try {
      // On a 2.9 server an add with a different config updates in place; 2.10+ refuses, hence the fallback.
      const created = await jsm.consumers.add(def.stream, desired);
      this.logger.info(
        { stream: def.stream, consumer: def.durable, filter: def.filterSubject },
        'consumer created',
      );
      return created;
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === CONSUMER_ALREADY_EXISTS || code === CONSUMER_NAME_IN_USE) {
        return this.updateConsumer(jsm, def.stream, def.durable, desired, what);
      }
      throw provisioningError(`create ${what}`, err);
    }
  }

  private async updateConsumer(
    jsm: JetStreamManager,
    stream: string,
    durable: string,
    desired: Partial<ConsumerConfig>,
    what: string,
  ): Promise<ConsumerInfo> {
    try {
      return await jsm.consumers.update(stream, durable, desired);
    } catch (err) {
      throw provisioningError(`update ${what}`, err);
    }
  }
}

async function streamInfoOrNull(jsm: JetStreamManager, name: string): Promise<StreamInfo | null> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (apiErrorCode(err) === STREAM_NOT_FOUND) return null;
    throw provisioningError(`look up stream ${name}`, err);
  }
}

async function consumerInfoOrNull(jsm: JetStreamManager, stream: string, name: string) {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (err) {
    if (apiErrorCode(err) === CONSUMER_NOT_FOUND) return null;
    if (apiErrorCode(err) === STREAM_NOT_FOUND) {
      throw new Error(`stream ${stream} does not exist; provision streams before consumer ${name}`, {
        cause: err,
      });
    }
    throw provisioningError(`look up consumer ${name} on ${stream}`, err);
  }
}

export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

function differingFields<T extends object>(
  current: T,
  desired: Partial<T>,
  fields: readonly string[],
): string[] {
  return fields.filter((field) => {
    const want = (desired as Record<string, unknown>)[field];
    if (want === undefined) return false;
    return !sameValue((current as Record<string, unknown>)[field], want);
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    const left = (a as unknown[]).map(String).sort();
    const right = (b as unknown[]).map(String).sort();
    return left.length === right.length && left.every((value, i) => value === right[i]);
  }
  return a === b;
}

function provisioningError(action: string, err: unknown): Error {
  const detail = err instanceof Error ? err.message : String(err);
  return new Error(`JetStream provisioning failed to ${action}: ${detail}`, { cause: err });
}
