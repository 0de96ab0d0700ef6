import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { IContainer } from 'kubernetes-models/v1';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1';
import { DEV_SECRETS, envVarPolicy, parseEnv, type SessionWorkerConfig } from '@app/config';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, ObservabilityModule } from '@app/observability';
import { createDataSource } from '@app/persistence';
import { OPERATIONS } from '../../apps/api/src/openapi/openapi.document';
import { shutdownTimeoutMs } from '../../apps/session-worker/src/shutdown-budget';
import {
  APPS,
  MIGRATE_SCRIPT,
  ROOT,
  dockerfileTargets,
  imageBaseName,
  imageTag,
  renderKustomization,
  type K8sObject,
} from './deploy-support';
import {
  EXTERNAL_SECRET,
  container,
  containerPort,
  egressOf,
  find,
  findAll,
  ingressOf,
  podTemplate,
  preStopSleepMs,
  resolveEnv,
  validationProblems,
  workloads,
} from './k8s-support';

/**
 * The kustomize base and overlays, rendered offline with `kubectl kustomize` and checked against the
 * code they deploy: config schemas, health routes, Dockerfile targets, shutdown budgets.
 */

/**
 * Measured figures the sizes come from; k8s/README.md ("Resources") and apps/session-worker/README.md
 * ("Tests and benchmarks") show the runs.
 */
const MEASURED = {
  /** SIGTERM → the session ready on another worker, p95 (`bench:worker:failover -- --runs 24`, term mode). */
  handoffP95Ms: 1_870,
  /** Idle worker process without sessions (`bench:worker:capacity` baseline, 0 sessions). */
  workerBaselineMb: 138,
  /** RSS per open, idle session (least-squares slope of `bench:worker:capacity`, 0 → 300 sessions). */
  workerMbPerSession: 3.46,
};
/** Margin of the session worker's memory limit over its measured need at MAX_SESSIONS. */
const WORKER_MEMORY_HEADROOM = 1.2;

/** Values a production `wa-bridge-secrets` holds; the README's Secret table must list each key. */
const PRODUCTION_SECRET_SAMPLES: Record<string, string> = {
  DATABASE_URL: 'postgres://bridge:s3cret@db.internal.example:5432/wa_bridge?sslmode=require',
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  GHL_CLIENT_ID: 'prod-client-id-0001',
  GHL_CLIENT_SECRET: 'prod-client-secret',
  GHL_APP_SHARED_SECRET: 'prod-shared-secret',
};
/** Optional keys of the Secret: each pod reads them if present. */
const OPTIONAL_SECRET_KEYS = ['ADMIN_API_KEY', 'GHL_PRIVATE_INTEGRATION_TOKENS'];

const OVERLAYS = ['overlays/dev', 'overlays/prod'] as const;
const targets = dockerfileTargets();

/** The routes ObservabilityModule serves (method GET = 0), read from Nest's own route metadata. */
function observabilityRoutes(): string[] {
  const module = ObservabilityModule.forRoot({
    app: 'deploy-test',
    useFactory: () => ({ readiness: [], liveness: [] }),
  });
  const controller = module.controllers?.[0] as { prototype: Record<string, object> } | undefined;
  if (!controller) throw new Error('ObservabilityModule has no controller');
  return Object.getOwnPropertyNames(controller.prototype)
    .filter((name) => name !== 'constructor')
    .filter((name) => Reflect.getMetadata(METHOD_METADATA, controller.prototype[name]) === 0)
    .map((name) => `/${String(Reflect.getMetadata(PATH_METADATA, controller.prototype[name]))}`);
}

function command(c: IContainer): string {
  return [...(c.command ?? []), ...(c.args ?? [])].join(' ');
}

function memoryBytes(quantity: string | number | undefined): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(String(quantity));
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1;
  return Number(match[1]) * unit;
}

describe('k8s/base', () => {
  it('renders on its own and holds only valid objects', () => {
    const objects = renderKustomization('k8s/base');
    expect(objects.length).toBeGreaterThan(20);
    expect(validationProblems(objects)).toEqual([]);
  });
});

describe('the offline validator', () => {
  it('refuses an object Kubernetes would refuse', () => {
    const [deployment] = findAll(renderKustomization('k8s/overlays/dev'), 'Deployment');
    const broken = JSON.parse(JSON.stringify(deployment)) as K8sObject;
    podTemplate(broken).spec.containers[0].ports = [{ containerPort: 'http' as unknown as number }];
    expect(validationProblems([broken])).toEqual([expect.stringContaining('containerPort must be integer')]);
  });
});

describe.each(OVERLAYS)('k8s/%s', (overlay) => {
  let objects: K8sObject[];
  const deployment = (name: string) => find(objects, 'Deployment', name);

  beforeAll(() => {
    objects = renderKustomization(`k8s/${overlay}`);
  });

  it('renders offline into valid Kubernetes objects, all in the wa-bridge namespace', () => {
    expect(validationProblems(objects)).toEqual([]);
    for (const obj of objects.filter((o) => o.kind !== 'Namespace')) {
      expect(`${obj.kind}/${obj.metadata.name} in ${obj.metadata.namespace}`).toBe(
        `${obj.kind}/${obj.metadata.name} in wa-bridge`,
      );
    }
  });

  describe.each(APPS)('$name', (app) => {
    const main = () => container(deployment(app.name), app.name);
    const envOf = () => resolveEnv(objects, main(), PRODUCTION_SECRET_SAMPLES);

    it('gets every variable its config requires, only variables it reads, and an environment it accepts', () => {
      const { env, problems } = envOf();
      expect(problems).toEqual([]);
      expect(Object.keys(env).filter((name) => !app.vars.includes(name))).toEqual([]);
      expect(app.requiredInProduction.filter((name) => env[name] === undefined)).toEqual([]);
      expect(() => parseEnv(app.schema, env)).not.toThrow();
    });

    it('takes its secrets from the Secret, never from a ConfigMap', () => {
      const { fromSecret, fromConfigMap } = envOf();
      const secrets = app.vars.filter(
        (name) =>
          envVarPolicy((app.schema as unknown as { shape: Record<string, object> }).shape[name])?.kind ===
            'secret' || ['DATABASE_URL', ...OPTIONAL_SECRET_KEYS].includes(name),
      );
      expect(secrets).toContain('ENCRYPTION_KEY');
      expect(secrets.filter((name) => fromConfigMap.has(name))).toEqual([]);
      expect(secrets.filter((name) => name in PRODUCTION_SECRET_SAMPLES && !fromSecret.has(name))).toEqual(
        [],
      );
    });

    it('probes the health routes on the port the app listens on, as the Dockerfile and Service say', () => {
      const c = main();
      const port = (parseEnv(app.schema, envOf().env) as { HTTP_PORT: number }).HTTP_PORT;
      const routes = observabilityRoutes();
      expect(routes).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
      const probes = {
        startup: c.startupProbe?.httpGet,
        liveness: c.livenessProbe?.httpGet,
        readiness: c.readinessProbe?.httpGet,
      };
      expect({
        startup: probes.startup?.path,
        liveness: probes.liveness?.path,
        readiness: probes.readiness?.path,
      }).toEqual({ startup: '/health/live', liveness: '/health/live', readiness: '/health/ready' });
      for (const probe of Object.values(probes)) expect(containerPort(c, probe?.port)).toBe(port);
      expect(targets.get(app.name)?.expose).toContain(port);

      const service = find(objects, 'Service', app.name) as {
        spec?: { ports?: { targetPort?: string | number }[] };
      };
      expect(service.spec?.ports?.map((p) => containerPort(c, p.targetPort))).toEqual([port]);
      expect(podTemplate(deployment(app.name)).metadata?.annotations?.['prometheus.io/port']).toBe(
        String(port),
      );
    });

    it('runs the Dockerfile target of its name with the target command', () => {
      const c = main();
      expect(imageBaseName(c.image ?? '')).toBe(app.name);
      expect(targets.get(app.name)?.cmd).toEqual(['node', `dist/apps/${app.name}/src/main.js`]);
      expect(c.command).toBeUndefined();
      expect(c.args).toBeUndefined();
    });

    it('waits for the schema in an init container and never migrates', () => {
      const template = podTemplate(deployment(app.name));
      const init = template.spec.initContainers ?? [];
      expect(init.map((c) => [imageBaseName(c.image ?? ''), command(c)])).toEqual([
        ['migrate', `node ${MIGRATE_SCRIPT} wait`],
      ]);
      for (const c of [...init, ...template.spec.containers])
        expect(command(c)).not.toMatch(/migrate\.js run/);
    });

    it('stops within its grace period: preStop pause plus its own shutdown bound', () => {
      const template = podTemplate(deployment(app.name));
      const config = parseEnv(app.schema, envOf().env) as SessionWorkerConfig;
      const ownBound =
        app.name === 'session-worker' ? shutdownTimeoutMs(config) : DEFAULT_SHUTDOWN_TIMEOUT_MS;
      expect((template.spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(
        preStopSleepMs(main()) + ownBound,
      );
    });

    it('asks for CPU and memory and is capped in memory, as is its init container', () => {
      const template = podTemplate(deployment(app.name));
      for (const c of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
        expect({
          name: c.name,
          requests: c.resources?.requests,
          memoryLimit: c.resources?.limits?.memory,
        }).toEqual({
          name: c.name,
          requests: { cpu: expect.anything(), memory: expect.anything() },
          memoryLimit: expect.anything(),
        });
      }
    });
  });

  it('runs the migrations in exactly one Job, with the migrate target', () => {
    const jobs = findAll(objects, 'Job');
    expect(jobs.map((j) => j.metadata.name)).toEqual(['migrate']);
    const c = container(jobs[0], 'migrate');
    expect(imageBaseName(c.image ?? '')).toBe('migrate');
    expect(command(c)).toBe(`node ${MIGRATE_SCRIPT} run`);
    expect(targets.get('migrate')?.cmd).toEqual(['node', MIGRATE_SCRIPT, 'run']);
    expect(resolveEnv(objects, c, PRODUCTION_SECRET_SAMPLES).problems).toEqual([]);
    // Only the Job applies migrations: no other container runs `migrate run`, and no app migrates on boot.
    const runners = workloads(objects).flatMap((w) =>
      [...(podTemplate(w).spec.initContainers ?? []), ...podTemplate(w).spec.containers]
        .filter((x) => /migrate\.js run/.test(command(x)))
        .map((x) => `${w.kind}/${w.metadata.name}/${x.name}`),
    );
    expect(runners).toEqual(['Job/migrate/migrate']);
    expect(createDataSource('postgres://x@127.0.0.1/never_connected').options.migrationsRun).toBe(false);
  });

  it('runs every product image at one tag, so apps never mix contract versions', () => {
    const images = workloads(objects)
      .flatMap((w) => [...(podTemplate(w).spec.initContainers ?? []), ...podTemplate(w).spec.containers])
      .map((c) => c.image ?? '')
      .filter((image) => targets.has(imageBaseName(image)));
    expect(new Set(images.map(imageTag)).size).toBe(1);
    expect(images.length).toBeGreaterThanOrEqual(7);
  });

  it('hands sessions over on SIGTERM: a Deployment rolled one pod at a time, a grace period beyond the hand-off, a disruption budget', () => {
    const worker = deployment('session-worker');
    const strategy = (worker.spec as { strategy?: { rollingUpdate?: Record<string, unknown> } }).strategy;
    expect(strategy?.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    const env = resolveEnv(objects, container(worker, 'session-worker'), PRODUCTION_SECRET_SAMPLES).env;
    const config = parseEnv(APPS[1].schema, env) as SessionWorkerConfig;
    expect(config.SHUTDOWN_HANDOFF_MS).toBeGreaterThan(MEASURED.handoffP95Ms);
    expect((podTemplate(worker).spec.terminationGracePeriodSeconds ?? 0) * 1000).toBeGreaterThan(
      preStopSleepMs(container(worker, 'session-worker')) + shutdownTimeoutMs(config),
    );
    const pdb = find(objects, 'PodDisruptionBudget', 'session-worker').spec as Record<string, unknown>;
    expect(pdb).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'session-worker' } },
    });
  });

  it('sizes the session worker for MAX_SESSIONS at the measured memory per session', () => {
    const worker = container(deployment('session-worker'), 'session-worker');
    const env = resolveEnv(objects, worker, PRODUCTION_SECRET_SAMPLES).env;
    const { MAX_SESSIONS } = parseEnv(APPS[1].schema, env) as SessionWorkerConfig;
    const needMb = MEASURED.workerBaselineMb + MEASURED.workerMbPerSession * MAX_SESSIONS;
    const limit = memoryBytes(worker.resources?.limits?.memory);
    expect(limit).toBeGreaterThanOrEqual(needMb * 1e6 * WORKER_MEMORY_HEADROOM);
    // Memory is not overcommitted: a worker is never evicted for memory its node promised elsewhere.
    expect(memoryBytes(worker.resources?.requests?.memory)).toBe(limit);
  });

  it('autoscales api and sync (the autoscaler owns their replicas), not the session worker', () => {
    const hpas = findAll(objects, 'HorizontalPodAutoscaler').map(
      (h) => h.spec as { scaleTargetRef: { kind: string; name: string } },
    );
    expect(hpas.map((h) => `${h.scaleTargetRef.kind}/${h.scaleTargetRef.name}`).sort()).toEqual([
      'Deployment/api',
      'Deployment/sync',
    ]);
    expect((deployment('api').spec as { replicas?: number }).replicas).toBeUndefined();
    expect((deployment('sync').spec as { replicas?: number }).replicas).toBeUndefined();
    expect((deployment('session-worker').spec as { replicas?: number }).replicas).toBeGreaterThanOrEqual(2);
  });

  it('exposes only the api, through one ingress, on the public routes only', () => {
    for (const service of findAll(objects, 'Service')) {
      expect(`${service.metadata.name}: ${(service.spec as { type?: string }).type ?? 'ClusterIP'}`).toBe(
        `${service.metadata.name}: ClusterIP`,
      );
    }
    const ingresses = findAll(objects, 'Ingress') as unknown as IIngress[];
    expect(ingresses).toHaveLength(1);
    const paths = (ingresses[0].spec?.rules ?? []).flatMap((r) => r.http?.paths ?? []);
    expect(new Set(paths.map((p) => `${p.backend.service?.name}:${p.backend.service?.port?.name}`))).toEqual(
      new Set(['api:http']),
    );
    const prefixes = paths.map((p) => p.path ?? '/');
    const covered = (route: string) =>
      prefixes.some((prefix) => route === prefix || route.startsWith(`${prefix}/`));
    // Every public route of the api is routed; probes and metrics stay inside the cluster.
    const publicRoutes = OPERATIONS.filter((op) => op.tag !== 'meta' || op.path === '/docs').map(
      (op) => op.path,
    );
    expect(publicRoutes.filter((route) => !covered(route))).toEqual([]);
    expect(observabilityRoutes().filter(covered)).toEqual([]);

    // Network: only the api admits anything from outside the namespace, besides metrics scrapes.
    for (const w of workloads(objects)) {
      const labels = podTemplate(w).metadata?.labels ?? {};
      const outside = ingressOf(objects, labels).filter(
        (source) => source.startsWith('namespace') && !source.startsWith('namespace monitoring'),
      );
      expect({ [w.metadata.name]: outside }).toEqual({
        [w.metadata.name]: w.metadata.name === 'api' ? ['namespace ingress-nginx on TCP/http'] : [],
      });
      expect(ingressOf(objects, labels).filter((s) => s.startsWith('anywhere'))).toEqual([]);
    }
  });

  it('denies all traffic by default; apps reach NATS and PostgreSQL, sync and the worker HTTPS, nothing else', () => {
    const defaultDeny = find(objects, 'NetworkPolicy', 'default-deny').spec;
    expect(defaultDeny).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const reach = Object.fromEntries(
      workloads(objects).map((w) => [
        w.metadata.name,
        egressOf(objects, podTemplate(w).metadata?.labels ?? {}),
      ]),
    );
    const expected: Record<string, string[]> = {
      api: ['dns', 'nats', 'postgres'],
      'session-worker': ['dns', 'https', 'nats', 'postgres'],
      sync: ['dns', 'https', 'nats', 'postgres'],
      migrate: ['dns', 'postgres'],
      nats: ['dns'],
    };
    if (overlay === 'overlays/dev') expected.postgres = ['dns'];
    expect(reach).toEqual(expected);
    // The bus and the database admit only their clients (and scrapes).
    expect(
      ingressOf(objects, { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/part-of': 'wa-bridge' }),
    ).toEqual([
      'namespace monitoring on TCP/http,TCP/monitor',
      'pods {"wa-bridge/nats-client":"true"} on TCP/4222',
    ]);
  });

  it('runs NATS 2.9/2.10 with JetStream on a persistent volume, with a config nats-server accepts', () => {
    const nats = find(objects, 'StatefulSet', 'nats');
    const c = container(nats, 'nats');
    expect(c.image).toMatch(/^nats:2\.(9|10)\.\d+-alpine$/);
    const claims = (nats.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] })
      .volumeClaimTemplates;
    expect(claims?.map((v) => v.metadata.name)).toEqual(['data']);
    const dataPath = c.volumeMounts?.find((m) => m.name === 'data')?.mountPath;
    const configVolume = podTemplate(nats).spec.volumes?.find((v) => v.name === 'config');
    const configMap = find(objects, 'ConfigMap', configVolume?.configMap?.name ?? '');
    const conf = (configMap.data as Record<string, string>)['nats.conf'];
    expect(conf).toMatch(new RegExp(`jetstream\\s*\\{[^}]*store_dir:\\s*${dataPath}\\s`));
    expect(c.command).toEqual([
      'nats-server',
      '--config',
      `${c.volumeMounts?.find((m) => m.name === 'config')?.mountPath}/nats.conf`,
    ]);

    const dir = mkdtempSync(join(tmpdir(), 'nats-conf-'));
    try {
      writeFileSync(join(dir, 'nats.conf'), conf);
      const check = spawnSync(
        process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
        ['-c', join(dir, 'nats.conf'), '-t'],
        { encoding: 'utf8', env: { ...process.env, POD_NAME: 'nats-0' } },
      );
      expect({ status: check.status, output: `${check.stdout}${check.stderr}`.trim() }).toEqual({
        status: 0,
        output: expect.stringMatching(/configuration file .* is valid$/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Every app finds the bus through the Service.
    const service = find(objects, 'Service', 'nats').spec as { ports: { port: number }[] };
    for (const app of APPS) {
      const env = resolveEnv(
        objects,
        container(deployment(app.name), app.name),
        PRODUCTION_SECRET_SAMPLES,
      ).env;
      expect(env.NATS_URL).toBe(`nats://nats:${service.ports[0].port}`);
    }
  });
});

describe('overlays', () => {
  let dev: K8sObject[];
  let prod: K8sObject[];

  beforeAll(() => {
    dev = renderKustomization('k8s/overlays/dev');
    prod = renderKustomization('k8s/overlays/prod');
  });

  const nodeEnv = (objects: K8sObject[]) =>
    resolveEnv(objects, container(find(objects, 'Deployment', 'api'), 'api'), PRODUCTION_SECRET_SAMPLES).env
      .NODE_ENV;

  it('dev runs its own PostgreSQL with the public development secrets only', () => {
    expect(nodeEnv(dev)).toBe('development');
    const secrets = findAll(dev, 'Secret');
    expect(secrets.map((s) => s.metadata.name)).toEqual([
      expect.stringMatching(new RegExp(`^${EXTERNAL_SECRET}-`)),
    ]);
    const data = Object.fromEntries(
      Object.entries(secrets[0].data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString('utf8'),
      ]),
    );
    for (const [key, value] of Object.entries(DEV_SECRETS)) expect(data[key]).toBe(value);

    const postgres = container(find(dev, 'StatefulSet', 'postgres'), 'postgres');
    const pgEnv = resolveEnv(dev, postgres, {}).env;
    const url = new URL(data.DATABASE_URL);
    expect(url.host).toBe(
      `postgres:${(find(dev, 'Service', 'postgres').spec as { ports: { port: number }[] }).ports[0].port}`,
    );
    expect([url.username, decodeURIComponent(url.password), url.pathname]).toEqual([
      pgEnv.POSTGRES_USER,
      pgEnv.POSTGRES_PASSWORD,
      `/${pgEnv.POSTGRES_DB}`,
    ]);
  });

  it('prod uses a managed database and a Secret from outside the repository, documented key by key', () => {
    expect(nodeEnv(prod)).toBe('production');
    expect(findAll(prod, 'StatefulSet').map((s) => s.metadata.name)).toEqual(['nats']);
    expect(findAll(prod, 'Secret')).toEqual([]);
    const keys = new Set(
      workloads(prod).flatMap((w) =>
        [...(podTemplate(w).spec.initContainers ?? []), ...podTemplate(w).spec.containers].flatMap((c) =>
          (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : [])),
        ),
      ),
    );
    expect([...keys].sort()).toEqual(
      [...Object.keys(PRODUCTION_SECRET_SAMPLES), ...OPTIONAL_SECRET_KEYS].sort(),
    );
    const readme = readFileSync(join(ROOT, 'k8s/README.md'), 'utf8');
    for (const key of keys) expect(readme).toContain(`| \`${key}\``);
  });

  it('prod runs more replicas than dev and released images from a registry', () => {
    const replicas = (objects: K8sObject[]) =>
      (find(objects, 'Deployment', 'session-worker').spec as { replicas: number }).replicas;
    const floor = (objects: K8sObject[], name: string) =>
      (find(objects, 'HorizontalPodAutoscaler', name).spec as { minReplicas: number }).minReplicas;
    expect(replicas(prod)).toBeGreaterThan(replicas(dev));
    for (const name of ['api', 'sync']) expect(floor(prod, name)).toBeGreaterThan(floor(dev, name));
    const image = container(find(prod, 'Deployment', 'api'), 'api').image ?? '';
    expect(image).toMatch(/^[a-z0-9.-]+\.[a-z]+\/.+\/api:/);
    expect(imageTag(image)).not.toBe('latest');
  });
});
