import { describe } from "node:test";
import { describeKernelParity } from "./backendParity.test.util.js";
import { loadWasmBuild, requireWasmBackend } from "./wasmBackend.js";
import { WASM_BUILDS } from "./wasmBuild.js";
import { testAgainWithRelaxedFlag } from "./wasmBuild.test.util.js";

// Every kernel of both wasm builds (SIMD128 and relaxed SIMD) against the cpu reference (the cases and
// tolerances: backendParity.test.util.ts). Relaxed SIMD's multiply-adds may or may not fuse, so both
// builds are held to the reference's tolerances, not to each other's bits.
// The SIMD128 build must load on Node: where it does not, requireWasmBackend throws
// BACKEND_UNAVAILABLE with the cause and the file fails, rather than skipping every parity check
// (STYLE.md, Tests). Where the relaxed build does not load (Node 20), the file runs again in a child
// node with V8's relaxed-SIMD flag.
for (const build of WASM_BUILDS) {
  const wasm = loadWasmBuild(build);
  if (wasm === null) {
    if (build === "simd128") requireWasmBackend();
    describe(`wasm ${build} kernels`, () => {
      testAgainWithRelaxedFlag(import.meta.url, [`wasm ${build} kernels match the cpu reference`]);
    });
    continue;
  }
  // exercise every wasm kernel, even on inputs so small that the backend would hand them to its
  // TypeScript loop (each test file runs in its own process, so this does not leak into other files)
  wasm.smallOpCutoff = 0;
  wasm.transcendentalCutoff = 0;
  describeKernelParity(`wasm ${build}`, wasm);
}
