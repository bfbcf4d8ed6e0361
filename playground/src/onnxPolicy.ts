/**
 * An exported policy (`exportOnnx`) run with onnxruntime-web: input `obs` float32 [1, obsDim],
 * output `action` (int64 for Discrete, float32 for Box), as the export's graph contract says.
 * Its WebAssembly file is bundled by Vite and served with the page (never fetched from elsewhere);
 * one thread, so the page needs no cross-origin isolation headers.
 */

import wasmUrl from "onnxruntime-web/ort-wasm-simd-threaded.wasm?url";
import * as ort from "onnxruntime-web/wasm";

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;

export interface OnnxPolicy {
  /** The deterministic action for one observation. */
  actions(observation: Float32Array): Promise<number[]>;
}

export async function onnxPolicy(bytes: Uint8Array): Promise<OnnxPolicy> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  return {
    async actions(observation) {
      const obs = new ort.Tensor("float32", observation, [1, observation.length]);
      const { action } = await session.run({ obs }, ["action"]);
      return Array.from(action.data as ArrayLike<number | bigint>, Number);
    },
  };
}
