import { z } from 'zod';
import { oneOf } from '../env-parsers';
import { envVar } from '../env-var';
import { LOG_LEVELS, sharedEnvShape } from '../shared-env.schema';

/**
 * The replay tool (`tools/replay`): an operator's command, not a service. It needs only the bus, so it
 * does not take the apps' shared variables (a production database URL or key would be required for
 * nothing); NATS_URL means the same as for the apps.
 */
export const replayCliConfigSchema = z.object({
  NATS_URL: sharedEnvShape.NATS_URL,
  /** Library logs on stderr (connection trouble); the tool's own report is on stdout. */
  LOG_LEVEL: envVar(oneOf(LOG_LEVELS), 'warn'),
});
export type ReplayCliConfig = z.output<typeof replayCliConfigSchema>;
