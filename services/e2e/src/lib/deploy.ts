/**
 * Helpers of the deploy checks (deploy-*.test.ts): helm from deploy/local's install step, the
 * chart rendered to objects, and offline validation of every object against the Kubernetes
 * OpenAPI schemas (kubernetes-models and its CRD companions).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@chaperone/loadtest';
import { errorMessage } from '@chaperone/observability';

export const chartDir = join(repoRoot, 'deploy/helm/chaperone');
export const allOptionsValues = join(chartDir, 'ci/all-options-values.yaml');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** helm on PATH, else the one deploy/local/install builds into the cache. */
export function helmBin(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'helm'))) return join(dir, 'helm');
  const cached = join(process.env.CHAPERONE_CACHE ?? join(homedir(), '.cache/chaperone'), 'bin/helm');
  if (existsSync(cached)) return cached;
  throw new Error(`helm not found on PATH nor at ${cached}: run deploy/local/install (it builds the pinned helm)`);
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBin(), args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/chaperone-helm/cache', HELM_CONFIG_HOME: '/tmp/chaperone-helm/config', HELM_DATA_HOME: '/tmp/chaperone-helm/data' } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart with these values files and --set flags; throws with helm's message on failure. */
export function renderChart(valuesFiles: string[] = [], set: string[] = []): K8sObject[] {
  const r = helm(['template', 'chaperone', chartDir, '--namespace', 'chaperone', ...valuesFiles.flatMap((f) => ['-f', f]), ...set.flatMap((s) => ['--set', s])]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** The object of this kind and name, typed by what the caller reads of it; throws listing what there is. */
export function findObject<T extends object = object>(objects: K8sObject[], kind: string, name: string): K8sObject & T {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o as K8sObject & T;
}

/** Where each API group's models live: core and built-in groups in kubernetes-models, CRDs in their packages. */
const crdPackages: Record<string, string> = {
  'gateway.networking.k8s.io': '@kubernetes-models/gateway-api',
  'cert-manager.io': '@kubernetes-models/cert-manager',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/**
 * Validates one object against its kind's OpenAPI schema; throws naming the object and the
 * first violations. A kind without a model is an error, not a pass.
 */
export async function validateObject(o: K8sObject): Promise<void> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const pkg = group && crdPackages[group] ? `${crdPackages[group]}/${group}/${version}` : `kubernetes-models/${group ? `${group}/` : ''}${version}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pkg)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name}: no schema for ${o.apiVersion} (${pkg}): ${errorMessage(err)}`);
  }
  const Kind = mod[o.kind] as ModelClass | undefined;
  if (!Kind) throw new Error(`${o.kind}/${o.metadata.name}: ${pkg} has no model ${o.kind}`);
  try {
    new Kind(o).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name} does not validate against ${o.apiVersion}: ${errorMessage(err)}`);
  }
}
