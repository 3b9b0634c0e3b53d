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
