/** A dependency the app needs to serve traffic; `/health/ready` is green only when every check is. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<HealthStatus> | HealthStatus;
}

export interface HealthStatus {
  ok: boolean;
  /** Short, secret-free description shown to operators, e.g. "connected to nats://nats:4222". */
  detail?: string;
}

export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');
export const LIVENESS_CHECKS = Symbol('LIVENESS_CHECKS');

/** Runs checks concurrently with a time bound, so a hung dependency reports failure, not a hang. */
export async function runChecks(
  checks: readonly HealthCheck[],
  timeoutMs = 2000,
): Promise<{ ok: boolean; checks: Record<string, HealthStatus> }> {
  const results = await Promise.all(
    checks.map(async (c): Promise<[string, HealthStatus]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<HealthStatus>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
          timeoutMs,
        );
      });
      try {
        const status = await Promise.race([Promise.resolve().then(() => c.check()), timeout]);
        return [c.name, status];
      } catch (error) {
        return [c.name, { ok: false, detail: error instanceof Error ? error.message : String(error) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ok: results.every(([, s]) => s.ok), checks: Object.fromEntries(results) };
}
