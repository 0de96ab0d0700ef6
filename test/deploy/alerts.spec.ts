import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse } from 'yaml';
import { APPS, ROOT, renderKustomization } from './deploy-support';
import { container, find, resolveEnv } from './k8s-support';

/**
 * k8s/monitoring/alerts.yaml names metrics by string; a renamed metric would leave an alert that never
 * fires. Every metric an alert reads must be one the code registers, and every alert is explained in
 * the README.
 */
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const rules = (
  parse(readFileSync(join(ROOT, 'k8s/monitoring/alerts.yaml'), 'utf8')) as {
    spec: { groups: { name: string; rules: Rule[] }[] };
  }
).spec.groups.flatMap((g) => g.rules);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !/\.(spec|integration-spec|e2e-spec)\.ts$/.test(path) ? [path] : [];
  });
}

/** Metric names the apps and libraries register: `new Counter({ name: '…' })` and `counter('…', …)`. */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of [...sourceFiles(join(ROOT, 'apps')), ...sourceFiles(join(ROOT, 'libs'))]) {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('prom-client')) continue;
    for (const m of text.matchAll(
      /new (?:Counter|Gauge|Histogram|Summary)\(\{\s*name: '([a-z_:][a-z0-9_:]*)'/g,
    ))
      names.add(m[1]);
    for (const m of text.matchAll(/\b(?:counter|gauge|histogram)\(\s*'([a-z_:][a-z0-9_:]*)'/g))
      names.add(m[1]);
  }
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  for (const metric of defaults.getMetricsAsArray()) names.add(metric.name);
  for (const name of [...names]) for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  return names;
}

const OUR_PREFIXES = /^(wa|bus|ghl|api|nodejs|process)_/;

describe('k8s/monitoring/alerts.yaml', () => {
  const known = registeredMetrics();

  it('finds the metrics of every app in the source (the scan itself works)', () => {
    for (const name of [
      'wa_conflicts_total',
      'bus_dead_letters_total',
      'ghl_requests_total',
      'api_http_requests_total',
    ])
      expect(known).toContain(name);
    expect(known).toContain('nodejs_eventloop_lag_p99_seconds');
  });

  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s reads only metrics the code registers',
    (_name, rule) => {
      const metrics = (rule.expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((t) =>
        OUR_PREFIXES.test(t),
      );
      expect(metrics.length).toBeGreaterThan(0);
      expect(metrics.filter((m) => !known.has(m))).toEqual([]);
      expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description.length).toBeGreaterThan(20);
    },
  );

  it('names each alert once and explains each one in k8s/README.md', () => {
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
    const readme = readFileSync(join(ROOT, 'k8s/README.md'), 'utf8');
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });

  it('uses thresholds that match the deployed MAX_SESSIONS and memory limits', () => {
    const objects = renderKustomization('k8s/base');
    const workerApp = APPS.find((a) => a.name === 'session-worker');
    const worker = container(find(objects, 'Deployment', 'session-worker'), 'session-worker');
    const maxSessions = Number(resolveEnv(objects, worker, {}).env.MAX_SESSIONS);
    expect(workerApp).toBeDefined();
    const capacity = rules.find((r) => r.alert === 'WhatsAppWorkerNearCapacity');
    expect(capacity?.expr).toMatch(new RegExp(`> ${maxSessions * 0.8}$`));

    const memory = rules.find((r) => r.alert === 'MemoryNearLimit')?.expr ?? '';
    const limits = Object.fromEntries(
      [...memory.matchAll(/vector\((\d+)\), "app", "([a-z-]+)"/g)].map((m) => [m[2], Number(m[1])]),
    );
    const deployed = Object.fromEntries(
      APPS.map((app) => {
        const quantity = String(
          container(find(objects, 'Deployment', app.name), app.name).resources?.limits?.memory,
        );
        const [, value, unit] = /^(\d+)(Mi|Gi)$/.exec(quantity) ?? [];
        return [app.name, Number(value) * (unit === 'Gi' ? 1024 ** 3 : 1024 ** 2)];
      }),
    );
    expect(limits).toEqual(deployed);
  });
});
