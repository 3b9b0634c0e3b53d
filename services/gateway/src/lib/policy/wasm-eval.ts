import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';

/** Evaluates the bundle's default entrypoint for one input (JSON text); returns the result set as JSON text. */
export type Evaluator = (inputJson: string) => string;

const PAGE = 64 * 1024;

type OpaEval = (reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number) => number;

/** The parts of the instance and memory this uses (the typed fields of LoadedPolicy). */
interface WasmInstance {
  exports: Record<string, unknown>;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/**
 * The per-command evaluation through the OPA Wasm ABI 1.2 single call (`opa_eval`), the same
 * call `LoadedPolicy.evaluate` makes, minus its per-call allocations: the input JSON is written
 * straight into the module's memory (no TextEncoder and intermediate copy) and the result is
 * found with one native scan for its NUL (not a byte-by-byte loop in JavaScript), and both stay
 * JSON text so the caller can reuse serialized parts and parsed results. About 2 µs of a ~15 µs
 * decision. Builtins the SDK implements in JavaScript (sprintf…) still go through the
 * library's imports. Modules built for ABI 1.0/1.1 fall back to the library's own path.
 */
export function evaluator(policy: LoadedPolicy): Evaluator {
  const wrapped = policy.wasmInstance as unknown as WasmInstance | { instance: WasmInstance };
  const instance = 'exports' in wrapped ? wrapped : wrapped.instance;
  const opaEval = instance.exports.opa_eval as OpaEval | undefined;
  if (!(Number(policy.minorVersion) >= 2) || typeof opaEval !== 'function') {
    return (json) => JSON.stringify(policy.evaluate(new TextEncoder().encode(json).buffer)) ?? 'null';
  }
  const memory = policy.mem as unknown as WasmMemory;
  let view = Buffer.from(memory.buffer);
  const current = (): Buffer => (view.buffer === memory.buffer ? view : (view = Buffer.from(memory.buffer)));
  return (json) => {
    // Written where the library writes it: just above the data (dataHeapPtr changes with setData).
    const at = policy.dataHeapPtr as number;
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const room = at + json.length * 3 - memory.buffer.byteLength;
    if (room > 0) memory.grow(Math.ceil(room / PAGE));
    const len = current().write(json, at, 'utf8');
    const out = opaEval(0, 0, policy.dataAddr, at, len, at + len, 0);
    // The evaluation may have grown (and so replaced) the memory's buffer.
    const mem = current();
    const end = mem.indexOf(0, out);
    if (end < 0) throw new Error('the policy result in Wasm memory is not terminated');
    return mem.toString('utf8', out, end);
  };
}

/**
 * Builtins the OPA SDK implements in JavaScript and that always give the same result for the same
 * arguments. A module that needs any other host builtin (time.now_ns, rand.intn, uuid.rfc4122,
 * http.send, opa.runtime…: impure, or not provided by this SDK) may decide differently for the
 * same input. Every other builtin runs inside the module, which has no clock, randomness or I/O
 * of its own (its only imports are the opa_builtin* calls, opa_abort and opa_println).
 */
const PURE_HOST_BUILTINS = new Set(['sprintf', 'json.is_valid', 'regex.split', 'yaml.is_valid', 'yaml.marshal', 'yaml.unmarshal']);

/**
 * Whether the module's decision depends on its input and data alone, so the same input JSON always
 * gives the same result: every builtin it calls in the host is a pure one. Unknown means no.
 */
export function isDeterministic(policy: LoadedPolicy): boolean {
  try {
    const wrapped = policy.wasmInstance as unknown as WasmInstance | { instance: WasmInstance };
    const exports = ('exports' in wrapped ? wrapped : wrapped.instance).exports;
    const builtins = exports.builtins as (() => number) | undefined;
    const dump = exports.opa_json_dump as ((addr: number) => number) | undefined;
    if (typeof builtins !== 'function' || typeof dump !== 'function') return false;
    const mem = Buffer.from((policy.mem as unknown as WasmMemory).buffer);
    const at = dump(builtins());
    const names = Object.keys(JSON.parse(mem.toString('utf8', at, mem.indexOf(0, at))) as Record<string, number>);
    return names.every((n) => PURE_HOST_BUILTINS.has(n));
  } catch {
    return false;
  }
}
