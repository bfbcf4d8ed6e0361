import { describeKernelParity } from "./backendParity.test.util.js";
import { requireWasmBackend } from "./wasmBackend.js";

// Every wasm kernel against the cpu reference (the cases and tolerances: backendParity.test.util.ts).
// wasm must load on Node: where it does not, this throws BACKEND_UNAVAILABLE with the cause and the
// file fails, rather than skipping every parity check (STYLE.md, Tests)
const wasm = requireWasmBackend();
// exercise every wasm kernel, even on inputs so small that the backend would hand them to its
// TypeScript loop (each test file runs in its own process, so this does not leak into other files)
wasm.smallOpCutoff = 0;
wasm.transcendentalCutoff = 0;

describeKernelParity("wasm", wasm);
