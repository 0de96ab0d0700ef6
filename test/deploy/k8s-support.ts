import type { IContainer, IPodSpec, IPodTemplateSpec } from 'kubernetes-models/v1';
import type {
  INetworkPolicy,
  INetworkPolicyPeer,
  INetworkPolicyPort,
} from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { K8sObject } from './deploy-support';

/** The kinds the manifests use, by `apiVersion/kind`, each with its offline validator. */
export const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/**
 * kustomize wraps long base64 values of Secrets over lines; the API server's decoder skips the line
 * breaks, the validator's `byte` format does not.
 */
function normalise(obj: K8sObject): K8sObject {
  if (obj.kind !== 'Secret' || !obj.data) return obj;
  const data = Object.fromEntries(
    Object.entries(obj.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, '')]),
  );
  return { ...obj, data };
}

/** Problems `kubernetes-models` finds in the objects (an unknown kind is one too). */
export function validationProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const obj of objects) {
    const id = `${obj.kind}/${obj.metadata?.name}`;
    const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) {
      problems.push(`${id}: no model for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new Model(normalise(obj) as never).validate();
    } catch (error) {
      problems.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

export function findAll(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in the rendered manifests`);
  return found;
}

/** The pod template of a workload (Deployment, StatefulSet, Job). */
export function podTemplate(workload: K8sObject): IPodTemplateSpec & { spec: IPodSpec } {
  return (workload.spec as { template: IPodTemplateSpec & { spec: IPodSpec } }).template;
}

export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
}

export function container(workload: K8sObject, name: string): IContainer {
  const found = podTemplate(workload).spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`${workload.metadata.name} has no container ${name}`);
  return found;
}

/** The port number a probe or policy names, resolved against the container's named ports. */
export function containerPort(c: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Milliseconds a `preStop` exec `sleep N` holds the pod before SIGTERM; 0 without a hook. */
export function preStopSleepMs(c: IContainer): number {
  const command = c.lifecycle?.preStop?.exec?.command;
  if (!command) return 0;
  if (command[0] !== 'sleep' || command.length !== 2)
    throw new Error(`unexpected preStop ${command.join(' ')}`);
  return Number(command[1]) * 1000;
}

export interface ResolvedEnv {
  env: Record<string, string>;
  /** Variables taken from a Secret (in the output, or the external one by sample values). */
  fromSecret: Set<string>;
  fromConfigMap: Set<string>;
  problems: string[];
}

/** The Secret production creates outside the repository (k8s/README.md, "Secrets"). */
export const EXTERNAL_SECRET = 'wa-bridge-secrets';

/**
 * The environment a container starts with: its ConfigMaps (looked up in the output), literal values,
 * and Secret keys — from a Secret in the output, or for the external Secret from `samples` (keys a
 * production Secret must hold; an optional key without a sample is left unset).
 */
export function resolveEnv(
  objects: K8sObject[],
  c: IContainer,
  samples: Record<string, string>,
): ResolvedEnv {
  const resolved: ResolvedEnv = { env: {}, fromSecret: new Set(), fromConfigMap: new Set(), problems: [] };
  for (const source of c.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (!name) {
      resolved.problems.push(`envFrom without a configMapRef: ${JSON.stringify(source)}`);
      continue;
    }
    const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    if (!map) {
      resolved.problems.push(`ConfigMap ${name} is not in the output`);
      continue;
    }
    for (const [key, value] of Object.entries((map.data ?? {}) as Record<string, string>)) {
      resolved.env[key] = value;
      resolved.fromConfigMap.add(key);
    }
  }
  for (const variable of c.env ?? []) {
    if (variable.value !== undefined) {
      resolved.env[variable.name] = variable.value;
      continue;
    }
    const ref = variable.valueFrom?.secretKeyRef;
    if (!ref) {
      resolved.problems.push(`${variable.name}: only literal values and secretKeyRef are expected`);
      continue;
    }
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
    let value: string | undefined;
    if (secret) {
      const data = (secret.data ?? {}) as Record<string, string>;
      value = data[ref.key] === undefined ? undefined : Buffer.from(data[ref.key], 'base64').toString('utf8');
    } else if (ref.name === EXTERNAL_SECRET) {
      value = samples[ref.key];
    } else {
      resolved.problems.push(
        `${variable.name}: Secret ${ref.name} is neither in the output nor ${EXTERNAL_SECRET}`,
      );
      continue;
    }
    if (value === undefined) {
      if (!ref.optional) resolved.problems.push(`${variable.name}: no key ${ref.key} in Secret ${ref.name}`);
      continue;
    }
    resolved.env[variable.name] = value;
    resolved.fromSecret.add(variable.name);
  }
  return resolved;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** The NetworkPolicies that select pods with `labels` for the given direction. */
export function policiesFor(
  objects: K8sObject[],
  labels: Record<string, string>,
  direction: 'Ingress' | 'Egress',
): INetworkPolicy[] {
  return (findAll(objects, 'NetworkPolicy') as unknown as INetworkPolicy[]).filter(
    (p) =>
      matches(p.spec?.podSelector?.matchLabels, labels) &&
      (p.spec?.policyTypes ?? ['Ingress']).includes(direction),
  );
}

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

function portList(ports: INetworkPolicyPort[] | undefined): string {
  return (ports ?? [])
    .map((p) => `${p.protocol ?? 'TCP'}/${p.port}`)
    .sort()
    .join(',');
}

/**
 * What an egress peer + ports pair is, in the words the specs expect: `dns`, `nats`, `postgres`,
 * `https` (the internet on 443, private ranges excepted), or a description of anything else.
 */
export function describeEgress(
  peer: INetworkPolicyPeer | undefined,
  ports: INetworkPolicyPort[] | undefined,
): string {
  const list = portList(ports);
  if (!peer) return `anywhere on ${list || 'any port'}`;
  const app = peer.podSelector?.matchLabels?.['app.kubernetes.io/name'];
  if (
    peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kube-system' &&
    peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns' &&
    list === 'TCP/53,UDP/53'
  ) {
    return 'dns';
  }
  if (!peer.namespaceSelector && app === 'nats' && list === 'TCP/4222') return 'nats';
  if (!peer.namespaceSelector && app === 'postgres' && list === 'TCP/5432') return 'postgres';
  if (peer.ipBlock && peer.ipBlock.cidr !== '0.0.0.0/0' && list === 'TCP/5432') return 'postgres';
  if (
    peer.ipBlock?.cidr === '0.0.0.0/0' &&
    PRIVATE_RANGES.every((range) => peer.ipBlock?.except?.includes(range)) &&
    list === 'TCP/443'
  ) {
    return 'https';
  }
  return `${JSON.stringify(peer)} on ${list || 'any port'}`;
}

/** Every kind of destination the policies let pods with `labels` reach. */
export function egressOf(objects: K8sObject[], labels: Record<string, string>): string[] {
  const reached = new Set<string>();
  for (const policy of policiesFor(objects, labels, 'Egress')) {
    for (const rule of policy.spec?.egress ?? []) {
      for (const peer of rule.to?.length ? rule.to : [undefined])
        reached.add(describeEgress(peer, rule.ports));
    }
  }
  return [...reached].sort();
}

/** Every source the policies admit to pods with `labels`, described like `egressOf`'s destinations. */
export function ingressOf(objects: K8sObject[], labels: Record<string, string>): string[] {
  const sources = new Set<string>();
  for (const policy of policiesFor(objects, labels, 'Ingress')) {
    for (const rule of policy.spec?.ingress ?? []) {
      for (const peer of rule.from?.length ? rule.from : [undefined]) {
        const list = portList(rule.ports);
        if (!peer) sources.add(`anywhere on ${list || 'any port'}`);
        else if (peer.namespaceSelector)
          sources.add(
            `namespace ${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name']} on ${list}`,
          );
        else if (peer.podSelector)
          sources.add(`pods ${JSON.stringify(peer.podSelector.matchLabels)} on ${list}`);
        else sources.add(`${JSON.stringify(peer)} on ${list}`);
      }
    }
  }
  return [...sources].sort();
}
