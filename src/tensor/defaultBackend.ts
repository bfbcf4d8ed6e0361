import { didYouMean, ProximalError } from "../errors.js";
import type { BackendName } from "./backend.js";

/** Which backend runs the kernels, and why: what a bug report about speed or numerics needs. */
export interface BackendInfo {
  /** The active backend. */
  name: BackendName;
  /**
   * Why it is active, e.g. `"default: WebAssembly SIMD kernels loaded"`, `"PROXIMAL_BACKEND=cpu"`,
   * `'setBackend("cpu")'`, or `"fallback: WebAssembly SIMD kernels failed to load (...)"`.
   */
  reason: string;
  /** Whether the WebAssembly SIMD kernels load on this runtime (whichever backend is active). */
  simd: boolean;
  /** Threads a kernel runs on: both backends run on the calling thread. */
  threads: number;
}

/** What the environment asks for and what the runtime offers; the inputs of {@link chooseDefaultBackend}. */
export interface BackendRequest {
  /** The value of `PROXIMAL_BACKEND`, undefined when unset. */
  requested: string | undefined;
  /** undefined when the WebAssembly kernels loaded, else why they did not (an error message). */
  wasmFailure: string | undefined;
}

/** The backend chosen before any `setBackend` call; `warning` is set when this is a fallback. */
export interface DefaultBackendChoice {
  name: BackendName;
  reason: string;
  warning?: string;
}

const VALID_NAMES: readonly BackendName[] = ["cpu", "wasm"];

/**
 * Choose the backend used until `setBackend` is called:
 * - `PROXIMAL_BACKEND=cpu` or `=wasm` chooses explicitly; `wasm` throws `BACKEND_UNAVAILABLE` where
 *   the kernels do not load, rather than quietly running several times slower.
 * - unset (or empty): wasm where its kernels load, else cpu with a `warning` naming the cause, so
 *   a slow run is never a mystery.
 * - any other value throws `INVALID_OPTION` naming the valid values.
 */
export function chooseDefaultBackend({ requested, wasmFailure }: BackendRequest): DefaultBackendChoice {
  if (requested === undefined || requested === "") {
    if (wasmFailure === undefined)
      return { name: "wasm", reason: "default: WebAssembly SIMD kernels loaded" };
    return {
      name: "cpu",
      reason: `fallback: WebAssembly SIMD kernels failed to load (${wasmFailure})`,
      warning: `proximal: the WebAssembly SIMD kernels failed to load (${wasmFailure}); using the TypeScript cpu backend, which is 10-20x slower on a training step. Set PROXIMAL_BACKEND=cpu to choose it without this warning, or PROXIMAL_BACKEND=wasm to make this an error.`,
    };
  }
  switch (requested) {
    case "cpu":
      return { name: "cpu", reason: "PROXIMAL_BACKEND=cpu" };
    case "wasm":
      if (wasmFailure !== undefined) {
        throw new ProximalError(
          "BACKEND_UNAVAILABLE",
          `PROXIMAL_BACKEND=wasm, but the WebAssembly SIMD kernels failed to load (${wasmFailure}). They need WebAssembly with SIMD (Node >= 16.4, current browsers, not node --jitless); unset PROXIMAL_BACKEND or set it to cpu to use the TypeScript backend.`,
        );
      }
      return { name: "wasm", reason: "PROXIMAL_BACKEND=wasm" };
    default:
      throw new ProximalError(
        "INVALID_OPTION",
        `PROXIMAL_BACKEND is "${requested}", which is not a backend. Set it to "cpu" or "wasm", or unset it to use wasm where it loads.${didYouMean(requested, VALID_NAMES)}`,
      );
  }
}

/**
 * `PROXIMAL_BACKEND` from the environment, read through a guarded `globalThis.process` so the engine
 * still loads in browsers (no `process`) and bundlers that stub it.
 */
export function requestedBackend(): string | undefined {
  const runtime = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return runtime?.env?.PROXIMAL_BACKEND;
}

/**
 * Print a warning once: through `process.emitWarning` on Node (so Node's `--no-warnings` and
 * `process.on("warning")` listeners apply), `console.warn` elsewhere.
 */
export function warnOnce(warning: string, code: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  const runtime = (
    globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }
  ).process;
  if (typeof runtime?.emitWarning === "function") runtime.emitWarning(warning, { code });
  else console.warn(warning);
}

const warned = new Set<string>();
