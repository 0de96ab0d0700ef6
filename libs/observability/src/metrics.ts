import { collectDefaultMetrics, register } from 'prom-client';

export { register as metricsRegistry } from 'prom-client';

let defaultsCollected = false;

/** Process metrics (CPU, RSS, event-loop lag, GC) once per process, labelled with the app. */
export function collectProcessMetrics(app: string): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  register.setDefaultLabels({ app });
  collectDefaultMetrics();
}
