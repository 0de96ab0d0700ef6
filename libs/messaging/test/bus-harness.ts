import { NatsServerHandle, startNatsServer } from '@app/testing';
import { StoredMsg } from 'nats';
import { pino, type Logger } from 'pino';
import { MessagingConnection, MessagingConnectionOptions } from '../src/nats-connection';
import { StreamProvisioner } from '../src/stream-provisioner';
import { StreamTopologyOptions } from '../src/topology';

export interface BusHarness {
  server: NatsServerHandle;
  logger: Logger;
  connection: MessagingConnection;
  provisioner: StreamProvisioner;
  connect(name?: string): Promise<MessagingConnection>;
  readStream(stream: string): Promise<StoredMsg[]>;
  close(): Promise<void>;
}

/** A private nats-server with the product's streams, and a connection to it. Logs are silent unless TEST_LOG_LEVEL is set. */
export async function startBus(
  options: {
    topology?: StreamTopologyOptions;
    connection?: Partial<MessagingConnectionOptions>;
    /** Create the streams up front. Default true. */
    provision?: boolean;
  } = {},
): Promise<BusHarness> {
  const server = await startNatsServer({ jetstream: true });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const connections: MessagingConnection[] = [];
  const connect = async (name = 'test') => {
    const connection = await MessagingConnection.connect({
      servers: server.url,
      name,
      logger,
      reconnectTimeWaitMs: 250,
      reconnectJitterMs: 100,
      ...options.connection,
    });
    connections.push(connection);
    return connection;
  };
  const connection = await connect();
  const provisioner = new StreamProvisioner(connection, logger, options.topology);
  if (options.provision !== false) await provisioner.ensureStreams();
  return {
    server,
    logger,
    connection,
    provisioner,
    connect,
    async readStream(stream) {
      const jsm = await connection.jsm();
      const info = await jsm.streams.info(stream);
      const messages: StoredMsg[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        messages.push(await jsm.streams.getMessage(stream, { seq }));
      }
      return messages;
    },
    async close() {
      await Promise.all(connections.map((c) => c.drain(2_000)));
      await server.stop();
    },
  };
}
