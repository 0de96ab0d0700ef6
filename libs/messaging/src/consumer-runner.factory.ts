import type { Logger } from 'pino';
import { ConsumerRunner, ConsumerRunnerOptions } from './consumer-runner';
import { MessagingConnection } from './nats-connection';
import { StreamProvisioner } from './stream-provisioner';

/**
 * Builds consumer runners on the shared connection and remembers them, so that shutdown can stop
 * every runner (letting in-flight handlers finish) before the connection is drained.
 */
export class ConsumerRunnerFactory {
  private readonly runners = new Set<ConsumerRunner>();

  constructor(
    private readonly connection: MessagingConnection,
    private readonly provisioner: StreamProvisioner,
    private readonly logger: Logger,
  ) {}

  create(options: ConsumerRunnerOptions): ConsumerRunner {
    const runner = new ConsumerRunner(this.connection, this.provisioner, options, this.logger);
    this.runners.add(runner);
    return runner;
  }

  get created(): readonly ConsumerRunner[] {
    return [...this.runners];
  }

  async stopAll(): Promise<void> {
    const results = await Promise.allSettled([...this.runners].map((runner) => runner.stop()));
    for (const result of results) {
      if (result.status === 'rejected')
        this.logger.error({ err: result.reason }, 'a consumer failed to stop');
    }
  }
}
