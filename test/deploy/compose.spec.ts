import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { parseEnv, type ApiConfig, type SessionWorkerConfig, type SyncConfig } from '@app/config';
import { loadConfig as loadWaSandboxConfig } from '../../apps/wa-sandbox/src/config';
import { loadSandboxConfigFromEnv as loadGhlSandboxConfig } from '../../apps/ghl-sandbox/src/config/sandbox-config.schema';
import { OPERATIONS } from '../../apps/api/src/openapi/openapi.document';
import { shutdownTimeoutMs } from '../../apps/session-worker/src/shutdown-budget';
import { SANDBOX_TRUST_ENV_VARS } from '../../tools/local/sandbox-trust';
import { APPS, ROOT, dockerfileTargets } from './deploy-support';

/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is checked against the code it
 * deploys: every variable it sets is one the app reads, the resulting environment passes the app's
 * schema, ports and healthchecks match the app's HTTP_PORT, build targets exist in the Dockerfile, and
 * in the sandbox profile every app points at the sandboxes, which listen where the apps look.
 */
interface ComposeService {
  build?: { target?: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  profiles?: string[];
  stop_grace_period?: string;
}

const compose = parse(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const targets = dockerfileTargets();

/** Resolves `${NAME:-default}` and `${NAME-default}` the way compose does when NAME is unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z][A-Z0-9_]*:?-([^}]*)\}/g, (_m, fallback: string) => fallback);
}

function envOf(name: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(compose.services[name].environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
  );
}

/** The host port a service publishes for `containerPort`. */
function publishedPort(name: string, containerPort: number): number | undefined {
  const mapping = compose.services[name].ports?.find((p) => p.endsWith(`:${containerPort}`));
  return mapping === undefined ? undefined : Number(mapping.split(':')[0]);
}

/** The compiled script a `node dist/…js` command runs must have a source file. */
function sourceOf(script: string): string {
  return resolve(ROOT, script.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
}

const LAUNCHER = 'dist/tools/local/sandbox-trust.js';

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
        'demo-phone',
      ]),
    );
    expect(compose.services.nats.image).toMatch(/^nats:2\.9/);
    expect(compose.services.nats.healthcheck?.test.join(' ')).toContain('js-enabled-only=true');
    expect(compose.services.postgres.image).toMatch(/^postgres:15/);
  });

  it('puts both sandboxes under the sandbox profile, the demo phone under its own, nothing else', () => {
    const profiled = Object.fromEntries(
      Object.entries(compose.services)
        .filter(([, s]) => s.profiles)
        .map(([name, s]) => [name, s.profiles]),
    );
    expect(profiled).toEqual({
      'wa-sandbox': ['sandbox'],
      'ghl-sandbox': ['sandbox'],
      'demo-phone': ['demo-phone'],
    });
  });

  it('builds every service from a Dockerfile target that exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image) continue;
      expect({ name, target: service.build?.target }).toEqual({ name, target: expect.any(String) });
      expect([...targets.keys()]).toContain(service.build?.target);
    }
  });

  describe.each(APPS)('$name', ({ name, vars, schema }) => {
    const service = compose.services[name];
    const env = envOf(name);

    it('sets only variables the app (or the sandbox-trust entry point it starts through) reads', () => {
      const launched = service.command?.includes(LAUNCHER) ?? false;
      const readable = launched ? [...vars, ...SANDBOX_TRUST_ENV_VARS] : vars;
      expect(Object.keys(env).filter((key) => !readable.includes(key))).toEqual([]);
    });

    it('gives an environment the app accepts', () => {
      expect(() => parseEnv(schema, env)).not.toThrow();
    });

    it('runs its own main, directly or through the sandbox-trust entry point', () => {
      const main = `dist/apps/${name}/src/main.js`;
      const command = service.command ?? targets.get(service.build?.target ?? '')?.cmd;
      expect([
        ['node', main],
        ['node', LAUNCHER, main],
      ]).toContainEqual(command);
      expect(existsSync(sourceOf(main))).toBe(true);
      expect(existsSync(sourceOf(LAUNCHER))).toBe(true);
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

  it('gives the session worker a grace period beyond its shutdown bound (hand-off plus bus drain)', () => {
    const seconds = Number(compose.services['session-worker'].stop_grace_period?.replace(/s$/, ''));
    const config = parseEnv(APPS[1].schema, envOf('session-worker')) as SessionWorkerConfig;
    expect(seconds * 1000).toBeGreaterThan(shutdownTimeoutMs(config));
  });

  it('points every app at the compose NATS and PostgreSQL', () => {
    for (const { name } of APPS) {
      const env = compose.services[name].environment ?? {};
      expect(env.NATS_URL).toBe('nats://nats:4222');
      expect(interpolate(env.DATABASE_URL)).toMatch(/^postgres:\/\/bridge:[^@]+@postgres:5432\/wa_bridge$/);
    }
  });

  describe('the sandbox profile (the local demo)', () => {
    const wa = loadWaSandboxConfig(envOf('wa-sandbox'));
    const ghl = loadGhlSandboxConfig(envOf('ghl-sandbox'));
    const api = parseEnv(APPS[0].schema, envOf('api')) as ApiConfig;

    it('runs the sandboxes on every interface, published and health-checked on the ports they listen on', () => {
      expect([wa.host, ghl.host]).toEqual(['0.0.0.0', '0.0.0.0']);
      expect(publishedPort('wa-sandbox', wa.wsPort)).toBe(wa.wsPort);
      expect(publishedPort('wa-sandbox', wa.adminPort)).toBe(wa.adminPort);
      expect(publishedPort('ghl-sandbox', ghl.port)).toBe(ghl.port);
      expect(compose.services['wa-sandbox'].healthcheck?.test.join(' ')).toContain(
        `http://127.0.0.1:${wa.adminPort}/health`,
      );
      expect(compose.services['ghl-sandbox'].healthcheck?.test.join(' ')).toContain(
        `http://127.0.0.1:${ghl.port}/health/ready`,
      );
      expect(ghl.seedDemo).toBe(true);
    });

    it('has the worker use the WhatsApp sandbox and trust its root key', () => {
      const env = envOf('session-worker');
      const config = parseEnv(APPS[1].schema, env) as SessionWorkerConfig;
      expect(config.WA_WS_URL).toBe(`ws://wa-sandbox:${wa.wsPort}/ws/chat`);
      expect(env.WA_SANDBOX_ADMIN_URL).toBe(`http://wa-sandbox:${wa.adminPort}`);
      expect(compose.services['session-worker'].command).toContain(LAUNCHER);
      expect(compose.services['session-worker'].depends_on?.['wa-sandbox']).toEqual({
        condition: 'service_healthy',
        required: false,
      });
    });

    it('has sync and the api use the GHL sandbox, with the credentials the sandbox expects', () => {
      const sync = parseEnv(APPS[2].schema, envOf('sync')) as SyncConfig;
      expect(sync.GHL_API_BASE_URL).toBe(`http://ghl-sandbox:${ghl.port}`);
      expect(envOf('api').GHL_SANDBOX_URL).toBe(`http://ghl-sandbox:${ghl.port}`);
      expect(compose.services.api.depends_on?.['ghl-sandbox']).toEqual({
        condition: 'service_healthy',
        required: false,
      });
      expect([api.GHL_CLIENT_ID, api.GHL_CLIENT_SECRET, api.GHL_APP_SHARED_SECRET]).toEqual([
        ghl.clientId,
        ghl.clientSecret,
        ghl.sharedSecret,
      ]);
      expect([sync.GHL_CLIENT_ID, sync.GHL_CLIENT_SECRET]).toEqual([ghl.clientId, ghl.clientSecret]);
    });

    it('sends the browser to the published ports and the GHL sandbox webhooks to the api', () => {
      const apiPort = api.HTTP_PORT;
      expect(api.PUBLIC_BASE_URL).toBe(`http://localhost:${publishedPort('api', apiPort)}`);
      expect(api.GHL_MARKETPLACE_URL).toBe(`http://localhost:${publishedPort('ghl-sandbox', ghl.port)}`);
      expect(ghl.publicUrl).toBe(api.GHL_MARKETPLACE_URL);
      expect(ghl.webhookUrl).toBe(`http://api:${apiPort}/webhooks/ghl`);
      expect(ghl.providerDeliveryUrl).toBe(`http://api:${apiPort}/webhooks/ghl/provider`);
      const routes = OPERATIONS.filter((op) => op.method === 'post').map((op) => op.path);
      expect(routes).toEqual(expect.arrayContaining(['/webhooks/ghl', '/webhooks/ghl/provider']));
    });

    it('scans the demo QR on demand with the simulated phone', () => {
      const phone = compose.services['demo-phone'];
      const script = phone.command?.[1] ?? '';
      expect(phone.command).toEqual(['node', 'dist/tools/local/demo-phone.js']);
      expect(existsSync(sourceOf(script))).toBe(true);
      expect(targets.has(phone.build?.target ?? '')).toBe(true);
      expect(envOf('demo-phone')).toEqual({
        DATABASE_URL: envOf('api').DATABASE_URL,
        WA_SANDBOX_ADMIN_URL: `http://wa-sandbox:${wa.adminPort}`,
      });
    });
  });
});
