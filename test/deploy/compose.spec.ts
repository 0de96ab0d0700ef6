import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  API_ENV_VARS,
  SESSION_WORKER_ENV_VARS,
  SYNC_ENV_VARS,
  apiConfigSchema,
  parseEnv,
  sessionWorkerConfigSchema,
  syncConfigSchema,
} from '@app/config';

/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is checked against the code it
 * deploys: every variable it sets is one the app reads, the resulting environment passes the app's
 * schema, ports and healthchecks match the app's HTTP_PORT, and build targets exist in the Dockerfile.
 */
interface ComposeService {
  build?: { target?: string };
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  stop_grace_period?: string;
}

const ROOT = resolve(__dirname, '../..');
const compose = parse(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfileTargets = [
  ...readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM \S+ AS (\S+)$/gm),
].map((m) => m[1]);

/** Resolves `${NAME:-default}` the way compose does when NAME is unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, (_m, fallback: string) => fallback);
}

const APPS: { name: string; vars: readonly string[]; schema: z.ZodType }[] = [
  { name: 'api', vars: API_ENV_VARS, schema: apiConfigSchema },
  { name: 'session-worker', vars: SESSION_WORKER_ENV_VARS, schema: sessionWorkerConfigSchema },
  { name: 'sync', vars: SYNC_ENV_VARS, schema: syncConfigSchema },
];

describe('docker-compose.yml', () => {
  it('has the infrastructure, a migration step and every app', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'nats',
        'postgres',
        'migrate',
        'api',
        'session-worker',
        'sync',
        'wa-sandbox',
        'ghl-sandbox',
      ]),
    );
    expect(compose.services.nats.image).toMatch(/^nats:2\.9/);
    expect(compose.services.nats.healthcheck?.test.join(' ')).toContain('js-enabled-only=true');
    expect(compose.services.postgres.image).toMatch(/^postgres:15/);
  });

  it('puts both sandboxes, and nothing else, under the sandbox profile', () => {
    const profiled = Object.entries(compose.services)
      .filter(([, s]) => s.profiles?.includes('sandbox'))
      .map(([name]) => name);
    expect(profiled.sort()).toEqual(['ghl-sandbox', 'wa-sandbox']);
  });

  it('builds every service from a Dockerfile target that exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image) continue;
      expect({ name, target: service.build?.target }).toEqual({ name, target: expect.any(String) });
      expect(dockerfileTargets).toContain(service.build?.target);
    }
  });

  describe.each(APPS)('$name', ({ name, vars, schema }) => {
    const service = compose.services[name];
    const env = Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
    );

    it('sets only variables the app reads', () => {
      expect(Object.keys(env).filter((key) => !vars.includes(key))).toEqual([]);
    });

    it('gives an environment the app accepts', () => {
      expect(() => parseEnv(schema, env)).not.toThrow();
    });

    it('probes readiness on the port the app listens on, and starts after migrations', () => {
      const port = env.HTTP_PORT;
      expect(port).toMatch(/^\d+$/);
      expect(service.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health/ready`);
      for (const mapping of service.ports ?? []) expect(mapping.endsWith(`:${port}`)).toBe(true);
      expect(service.depends_on).toMatchObject({
        nats: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    });
  });

  it('gives the session worker a grace period for the hand-off', () => {
    const seconds = Number(compose.services['session-worker'].stop_grace_period?.replace(/s$/, ''));
    const handoffMs = (parseEnv(sessionWorkerConfigSchema, {}) as { SHUTDOWN_HANDOFF_MS: number })
      .SHUTDOWN_HANDOFF_MS;
    expect(seconds * 1000).toBeGreaterThan(handoffMs);
  });

  it('points every app at the compose NATS and PostgreSQL', () => {
    for (const { name } of APPS) {
      const env = compose.services[name].environment ?? {};
      expect(env.NATS_URL).toBe('nats://nats:4222');
      expect(interpolate(env.DATABASE_URL)).toMatch(/^postgres:\/\/bridge:[^@]+@postgres:5432\/wa_bridge$/);
    }
  });
});
