/** `proximal info [--json]`: what a bug report needs to know about the runtime, in one command. */

import { availableParallelism } from "node:os";
import { nativeLoadFailure } from "../tensor/nativeBackend.js";
import { backendInfo } from "../tensor/tensor.js";
import { wasmBuildInfo, wasmLoadFailure } from "../tensor/wasmBackend.js";
import type { WasmBuild } from "../tensor/wasmBuild.js";
import { VERSION } from "../version.js";

/** The runtime a result was produced on. */
export interface RuntimeInfo {
  /** proximal's version. */
  version: string;
  /** Node's version, e.g. `"v24.21.0"`. */
  node: string;
  /** `process.platform` and `process.arch`, e.g. `"linux-x64"`. */
  platform: string;
  /** The active kernel backend (`"wasm"`, `"native"` or `"cpu"`). */
  backend: string;
  /** Why that backend is active, e.g. `"default: WebAssembly SIMD kernels loaded"`. */
  backendReason: string;
  /** Whether the WebAssembly SIMD kernels load on this runtime. */
  simd: boolean;
  /** The wasm kernels' build, `"relaxed-simd"` or `"simd128"`; null where they do not load. */
  wasmBuild: WasmBuild | null;
  /** Whether the wasm build's matmul multiply-adds are fused (relaxed SIMD on a CPU with FMA). */
  wasmFma: boolean;
  /** The native kernels' instruction-set path (avx512, avx2, generic), null where the addon does not load. */
  nativeIsa: string | null;
  /** Threads the engine runs a kernel on. */
  threads: number;
  /** CPUs this process may use (`os.availableParallelism()`). */
  cores: number;
}

/** Collect {@link RuntimeInfo}; throws the backend's ProximalError when PROXIMAL_BACKEND is invalid. */
export function runtimeInfo(): RuntimeInfo {
  const backend = backendInfo();
  return {
    version: VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: backend.name,
    backendReason: backend.reason,
    simd: backend.simd,
    wasmBuild: backend.wasmBuild,
    wasmFma: backend.wasmFma,
    nativeIsa: backend.nativeIsa,
    threads: backend.threads,
    cores: availableParallelism(),
  };
}

export async function infoCommand(flags: { json?: boolean }): Promise<number> {
  const info = runtimeInfo();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `proximal ${info.version}`,
    `node     ${info.node} (${info.platform})`,
    `backend  ${info.backend} (${info.backendReason})`,
    `simd     ${info.simd ? "yes" : "no"} (WebAssembly SIMD kernels ${info.simd ? "load" : "do not load"})`,
    `wasm     ${wasmLine()}`,
    `native   ${info.nativeIsa === null ? `no (${nativeLoadFailure() ?? "not loaded"})` : `yes (${info.nativeIsa} kernels)`}`,
    `threads  ${info.threads}`,
    `cores    ${info.cores}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** The wasm kernels' build and why, e.g. `relaxed-simd fma (the runtime has relaxed SIMD)`. */
function wasmLine(): string {
  const wasm = wasmBuildInfo();
  if (wasm === null) return `no (${wasmLoadFailure()})`;
  return `${wasm.label} (${wasm.reason}${wasm.build === "relaxed-simd" ? "; PROXIMAL_WASM_RELAXED=0 for simd128" : ""})`;
}
