import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { PolicyBundleError } from './errors.js';
import { readTarGz } from './tar.js';
import { evaluator, isDeterministic, type Evaluator } from './wasm-eval.js';
import { errorMessage } from '@chaperone/observability';

/** Bundles are a few hundred KiB; the cap keeps a hostile or broken file from exhausting memory. */
const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** Identifies one version of the bundle file on disk, to notice when it is replaced. */
export interface FileVersion {
  mtimeMs: number;
  size: number;
  ino: number;
}

/** One loaded bundle; never mutated after creation, swapped as a whole. */
export interface BundleSnapshot {
  readonly policy: LoadedPolicy;
  /** Evaluates the default entrypoint (chaperone/authz/decision) for one input. */
  readonly evaluate: Evaluator;
  readonly revision: string;
  /** The same input always gets the same decision (no impure host builtin): decisions may be memoized. */
  readonly deterministic: boolean;
  readonly file: string;
  readonly version: FileVersion;
  readonly loadedAt: number;
}

export async function fileVersion(file: string): Promise<FileVersion> {
  const s = await stat(file);
  return { mtimeMs: s.mtimeMs, size: s.size, ino: s.ino };
}

export function sameVersion(a: FileVersion | undefined, b: FileVersion): boolean {
  return a !== undefined && a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/** Reads a bundle written by `opa build -t wasm` (policies/build.sh) and instantiates its Wasm. */
export async function loadBundle(file: string): Promise<BundleSnapshot> {
  let version: FileVersion;
  let gz: Buffer;
  try {
    version = await fileVersion(file);
    gz = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? errorMessage(err);
    throw new PolicyBundleError('BUNDLE_UNREADABLE', `cannot read policy bundle ${file} (${code}); build it with \`chaperone policy build\``, { cause: err });
  }
  let files: Map<string, Buffer>;
  try {
    files = readTarGz(gz, MAX_BUNDLE_BYTES);
  } catch (err) {
    throw new PolicyBundleError('BUNDLE_INVALID', `${file} is not a readable .tar.gz bundle: ${errorMessage(err)}`, { cause: err });
  }
  const wasm = files.get('/policy.wasm');
  if (!wasm) throw new PolicyBundleError('BUNDLE_INVALID', `${file} has no /policy.wasm; build it with \`opa build -t wasm\` (policies/build.sh)`);
  let data: unknown = {};
  let revision: string | undefined;
  try {
    const dataFile = files.get('/data.json');
    if (dataFile) data = JSON.parse(dataFile.toString('utf8'));
    const manifest = files.get('/.manifest');
    if (manifest) {
      const m = JSON.parse(manifest.toString('utf8')) as { revision?: unknown };
      if (typeof m.revision === 'string' && m.revision !== '') revision = m.revision;
    }
  } catch (err) {
    throw new PolicyBundleError('BUNDLE_INVALID', `${file}: data.json or .manifest is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(wasm);
    policy.setData(data as object);
  } catch (err) {
    throw new PolicyBundleError('BUNDLE_INVALID', `${file}: policy.wasm does not load: ${errorMessage(err)}`, { cause: err });
  }
  // Without a manifest revision, the bundle's own hash still pins which policy decided.
  revision ??= `sha256:${createHash('sha256').update(gz).digest('hex').slice(0, 16)}`;
  return Object.freeze({ policy, evaluate: evaluator(policy), revision, deterministic: isDeterministic(policy), file, version, loadedAt: Date.now() });
}
