import { didYouMean, ProximalError } from "../errors.js";
import type { BackendName } from "./backend.js";
import { rejectReservedBackend } from "./backend.js";
import type { WasmBuild } from "./wasmBuild.js";

/** Which backend runs the kernels, and why: what a bug report about speed or numerics needs. */
export interface BackendInfo {
  /** The active backend. */
  name: BackendName;
  /**
   * Why it is active, e.g. `"default: WebAssembly SIMD kernels loaded"`, `"PROXIMAL_BACKEND=cpu"`,
   * `'setBackend("cpu")'`, `"PROXIMAL_BACKEND=native (avx512 kernels)"`, or
   * `"fallback: WebAssembly SIMD kernels failed to load (...)"`.
   */
  reason: string;
  /** Whether the WebAssembly SIMD kernels load on this runtime (whichever backend is active). */
  simd: boolean;
  /**
   * The build of the wasm kernels that loads, whichever backend is active: `"relaxed-simd"` where
   * the runtime has relaxed SIMD (unless `PROXIMAL_WASM_RELAXED=0`), else `"simd128"`; null where
   * the kernels do not load.
   */
  wasmBuild: WasmBuild | null;
  /**
   * Whether that build's matmul multiply-adds run fused, with one rounding: the relaxed-SIMD build on
   * a CPU the engine fuses `relaxed_madd` on (x86 with FMA3, ARM). Always false for SIMD128.
   */
  wasmFma: boolean;
  /**
   * The native addon's instruction-set path (`"avx512"`, `"avx2"` or `"generic"`) where the addon
   * loads, whichever backend is active; null where it is not built or does not load.
   */
  nativeIsa: string | null;
  /**
   * Threads the active backend's large matrix products run on (`setNumThreads`, `PROXIMAL_THREADS`):
   * the native backend's count; 1 for wasm and cpu, which run on the calling thread.
   */
  threads: number;
}

/** What the environment asks for and what the runtime offers; the inputs of {@link chooseDefaultBackend}. */
export interface BackendRequest {
  /** The value of `PROXIMAL_BACKEND`, undefined when unset. */
  requested: string | undefined;
  /** undefined when the WebAssembly kernels loaded, else why they did not (an error message). */
  wasmFailure: string | undefined;
  /**
   * undefined when the native addon loaded, else why it did not. A request without this key means
   * "not built", so callers that predate the native backend keep their meaning.
   */
  nativeFailure?: string | undefined;
  /** The native path's name for the reason string, e.g. "avx512". */
  nativeIsa?: string;
  /**
   * Whether native is the default here: on Node ({@link NATIVE_IS_DEFAULT}), not in browsers, where
   * no addon can load and wasm is the default without a notice. Absent means false.
   */
  nativeDefault?: boolean;
}

/** The backend chosen before any `setBackend` call; `warning` is set when this is a fallback. */
export interface DefaultBackendChoice {
  name: BackendName;
  reason: string;
  warning?: string;
}

const VALID_NAMES: readonly BackendName[] = ["cpu", "wasm", "native"];

/**
 * Whether an unset PROXIMAL_BACKEND means native (where the runtime is Node) rather than wasm.
 * Native became the default once the whole suite passed on it (`PROXIMAL_BACKEND=native npm test`,
 * 1450 of 1450 tests, 2026-12-01; BENCHMARKS.md, engine).
 */
export const NATIVE_IS_DEFAULT = true;

/** Whether this runtime is Node (where the native addon can load): the `nativeDefault` input. */
export function nativeIsDefaultHere(): boolean {
  const runtime = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return NATIVE_IS_DEFAULT && typeof runtime?.versions?.node === "string";
}

/**
 * Choose the backend used until `setBackend` is called:
 * - unset (or empty) on Node: native where its addon loads. The addon is optional (no compiler or
 *   headers at install): without it, wasm with a one-line `warning` naming the cause.
 * - unset in browsers: wasm. Where wasm does not load either, cpu with a `warning` naming the
 *   cause, so a slow run is never a mystery.
 * - `PROXIMAL_BACKEND=native` chooses native; without the addon, wasm with a one-line `warning`.
 * - `PROXIMAL_BACKEND=cpu` or `=wasm` chooses explicitly; `wasm` throws `BACKEND_UNAVAILABLE` where
 *   the kernels do not load, rather than quietly running several times slower.
 * - a reserved name (`webgpu`: `RESERVED_BACKENDS` in backend.ts) throws `BACKEND_UNAVAILABLE`.
 * - any other value throws `INVALID_OPTION` naming the valid values.
 */
export function chooseDefaultBackend(request: BackendRequest): DefaultBackendChoice {
  const { requested, wasmFailure, nativeIsa = "native", nativeDefault = false } = request;
  const nativeFailure = "nativeFailure" in request ? request.nativeFailure : "the native addon is not built";
  const unset = requested === undefined || requested === "";
  if (requested === "native" || (unset && nativeDefault)) {
    if (nativeFailure === undefined) {
      return {
        name: "native",
        reason: unset
          ? `default: native kernels loaded (${nativeIsa})`
          : `PROXIMAL_BACKEND=native (${nativeIsa} kernels)`,
      };
    }
    const asked = unset
      ? "The native backend (the default on Node) is unavailable"
      : "PROXIMAL_BACKEND=native asks for the native backend, which is unavailable";
    if (wasmFailure === undefined) {
      return {
        name: "wasm",
        reason: `fallback: native backend unavailable (${nativeFailure})`,
        warning: `proximal: ${asked} (${nativeFailure}); using the wasm backend. Set PROXIMAL_BACKEND=wasm to choose it without this notice.`,
      };
    }
    return {
      name: "cpu",
      reason: `fallback: native backend unavailable (${nativeFailure}) and WebAssembly SIMD kernels failed to load (${wasmFailure})`,
      warning: `proximal: ${asked} (${nativeFailure}), and the WebAssembly SIMD kernels failed to load (${wasmFailure}); using the TypeScript cpu backend, which is 10-20x slower on a training step. Set PROXIMAL_BACKEND=cpu to choose it without this warning.`,
    };
  }
  if (unset) {
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
      rejectReservedBackend(requested, `PROXIMAL_BACKEND=${requested}`);
      throw new ProximalError(
        "INVALID_OPTION",
        `PROXIMAL_BACKEND is "${requested}", which is not a backend. Set it to "cpu", "wasm" or "native", or unset it for the default (native on Node where its addon is built, else wasm).${didYouMean(requested, VALID_NAMES)}`,
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
