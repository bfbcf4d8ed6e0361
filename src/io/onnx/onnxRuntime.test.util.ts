// Test helper: run an exported ONNX model in onnxruntime-web, which runs in Node on its WebAssembly
// backend with the .wasm files it ships (no download). One thread: the tests need no worker pool,
// and a 2-core CI machine is shared.
import * as ort from "onnxruntime-web";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** An input tensor: float32, int64 given as numbers, or bool given as 0/1. */
export type OnnxFeed =
  | { type: "float32"; data: Float32Array; dims: number[] }
  | { type: "int64" | "bool"; data: ArrayLike<number>; dims: number[] };

/** One output: its values as numbers (int64 converted) and its dims. */
export interface OnnxResult {
  data: number[];
  dims: readonly number[];
  type: string;
}

/** Load `bytes` and run them once on `feeds`; every output comes back. */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, OnnxFeed>,
): Promise<Record<string, OnnxResult>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) {
      if (feed.type === "float32") inputs[name] = new ort.Tensor("float32", feed.data, feed.dims);
      else if (feed.type === "bool")
        inputs[name] = new ort.Tensor("bool", Uint8Array.from(feed.data), feed.dims);
      else {
        const values = BigInt64Array.from(Array.from(feed.data), (v) => BigInt(v));
        inputs[name] = new ort.Tensor("int64", values, feed.dims);
      }
    }
    const outputs = await session.run(inputs);
    const out: Record<string, OnnxResult> = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      const data = Array.from(tensor.data as ArrayLike<number | bigint>, (v) => Number(v));
      out[name] = { data, dims: tensor.dims, type: tensor.type };
    }
    return out;
  } finally {
    await session.release();
  }
}
