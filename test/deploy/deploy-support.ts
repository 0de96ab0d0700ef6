import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import {
  API_ENV_VARS,
  API_REQUIRED_IN_PRODUCTION,
  SESSION_WORKER_ENV_VARS,
  SESSION_WORKER_REQUIRED_IN_PRODUCTION,
  SYNC_ENV_VARS,
  SYNC_REQUIRED_IN_PRODUCTION,
  apiConfigSchema,
  sessionWorkerConfigSchema,
  syncConfigSchema,
} from '@app/config';

/**
 * What the deployment specs share: the apps and their config schemas, the Dockerfile's targets, and
 * kustomize rendering. No Docker engine or cluster runs here, so the manifests are checked against the
 * code they deploy.
 */
export const ROOT = resolve(__dirname, '../..');

export interface AppSpec {
  /** Also the Dockerfile target, the Deployment and the compose service. */
  name: 'api' | 'session-worker' | 'sync';
  vars: readonly string[];
  requiredInProduction: readonly string[];
  schema: z.ZodType;
}

export const APPS: AppSpec[] = [
  {
    name: 'api',
    vars: API_ENV_VARS,
    requiredInProduction: API_REQUIRED_IN_PRODUCTION,
    schema: apiConfigSchema,
  },
  {
    name: 'session-worker',
    vars: SESSION_WORKER_ENV_VARS,
    requiredInProduction: SESSION_WORKER_REQUIRED_IN_PRODUCTION,
    schema: sessionWorkerConfigSchema,
  },
  {
    name: 'sync',
    vars: SYNC_ENV_VARS,
    requiredInProduction: SYNC_REQUIRED_IN_PRODUCTION,
    schema: syncConfigSchema,
  },
];

/** The script the migration Job runs (`migrate run`) and the init containers wait with (`migrate wait`). */
export const MIGRATE_SCRIPT = 'dist/libs/persistence/src/cli/migrate.js';

export interface DockerTarget {
  name: string;
  expose: number[];
  /** The exec-form CMD, if the target sets one. */
  cmd?: string[];
}

/** `FROM <image> AS <name>` blocks of the Dockerfile, with their EXPOSE and CMD lines. */
export function dockerfileTargets(): Map<string, DockerTarget> {
  const text = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
  const targets = new Map<string, DockerTarget>();
  let current: DockerTarget | undefined;
  for (const line of text.split('\n')) {
    const from = /^FROM \S+ AS (\S+)$/.exec(line);
    if (from) {
      current = { name: from[1], expose: [] };
      targets.set(current.name, current);
      continue;
    }
    if (!current) continue;
    const expose = /^EXPOSE (.+)$/.exec(line);
    if (expose) current.expose.push(...expose[1].split(/\s+/).map(Number));
    const cmd = /^CMD (\[.*\])$/.exec(line);
    if (cmd) current.cmd = JSON.parse(cmd[1]) as string[];
  }
  return targets;
}

/** A rendered Kubernetes object, loosely typed: the specs read what they check. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const rendered = new Map<string, K8sObject[]>();

/**
 * `kubectl kustomize <dir>`: offline, with the kustomize built into kubectl (KUBECTL overrides the
 * binary). Rendered once per test file; callers must not change the objects.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const cached = rendered.get(dir);
  if (cached) return cached;
  const kubectl = process.env.KUBECTL ?? 'kubectl';
  let output: string;
  try {
    output = execFileSync(kubectl, ['kustomize', resolve(ROOT, dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `${kubectl} kustomize ${dir} failed (.ci/run installs Debian's kubernetes-client): ` +
        `${error instanceof Error ? error.message : String(error)}\n${stderr}`,
    );
  }
  const objects = parseAllDocuments(output)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
  rendered.set(dir, objects);
  return objects;
}

/** The image reference without registry path and tag: `registry.example.com/wa-bridge/api:1.0.0` → `api`. */
export function imageBaseName(image: string): string {
  const withoutTag = image.replace(/(@sha256:[0-9a-f]+|:[^/:]+)$/, '');
  return withoutTag.slice(withoutTag.lastIndexOf('/') + 1);
}

export function imageTag(image: string): string | undefined {
  return /:([^/:]+)$/.exec(image)?.[1];
}
