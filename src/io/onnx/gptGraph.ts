/**
 * The ONNX graph of proximal's {@link GPT} (GPT-2's shape): `input_ids` int64 [batch, seq] →
 * `logits` float32 [batch, seq, vocabSize], for whole sequences without padding or a KV cache, as
 * `GPT.forward(ids)` computes them: token plus position embeddings (positions 0..seq−1), pre-LN
 * blocks of causal multi-head attention (scores scaled by 1/√headDim, keys after the query masked
 * with −∞) and a tanh-GELU MLP, a final LayerNorm, and the LM head tied to the token embedding
 * (`logits = ln_f(h) · wteᵀ`, one copy of `wte` in the file).
 */
import type { GPT } from "../../rlhf/gpt.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { AffineWeights, GraphBuilder } from "./graphBuilder.js";

function affine(dict: Record<string, Tensor>, prefix: string): AffineWeights {
  const weight = dict[`${prefix}.weight`];
  const bias = dict[`${prefix}.bias`];
  return {
    weight: weight.values,
    bias: bias.values,
    inFeatures: weight.shape[1],
    outFeatures: weight.shape[0],
  };
}

/** Add the GPT's graph on `ids` (int64 [batch, seq]) and declare the `logits` output. */
export function addGptGraph(g: GraphBuilder, gpt: GPT, ids: string): void {
  const { nEmbd: d, nHead: h, nLayer, vocabSize, nPositions, layerNormEpsilon } = gpt.config;
  const hd = d / h;
  const dict = gpt.stateDict();
  const wte = g.constant(dict["wte.weight"].values, [vocabSize, d], "wte");
  const wpe = g.constant(dict["wpe.weight"].values, [nPositions, d], "wpe");
  const layerNorm = (x: string, prefix: string): string =>
    g.op(
      "LayerNormalization",
      [
        x,
        g.constant(dict[`${prefix}.weight`].values, [d], "ln_w"),
        g.constant(dict[`${prefix}.bias`].values, [d], "ln_b"),
      ],
      { axis: { int: -1 }, epsilon: { float: layerNormEpsilon } },
    );

  // positions 0..seq−1, and the causal mask: key j > query i gets −∞
  const seq = g.op("Gather", [g.op("Shape", [ids]), g.int64Constant([1], [], "seq_axis")], {
    axis: { int: 0 },
  });
  const positions = g.op("Range", [g.int64Constant([0], [], "zero"), seq, g.int64Constant([1], [], "step")]);
  const rows = g.op("Unsqueeze", [positions, g.int64Constant([1])]); // [seq, 1]
  const cols = g.op("Unsqueeze", [positions, g.int64Constant([0])]); // [1, seq]
  const causalMask = g.op("Where", [
    g.op("Greater", [cols, rows]),
    g.constant([Number.NEGATIVE_INFINITY], [], "minus_inf"),
    g.constant([0], [], "zero_f"),
  ]); // [seq, seq]

  let x = g.op("Add", [
    g.op("Gather", [wte, ids], { axis: { int: 0 } }),
    g.op("Gather", [wpe, positions], { axis: { int: 0 } }),
  ]); // [batch, seq, d]
  const headsShape = g.int64Constant([0, 0, 3, h, hd]);
  const mergedShape = g.int64Constant([0, 0, d]);
  const scale = g.constant([1 / Math.sqrt(hd)], [], "attn_scale");
  for (let i = 0; i < nLayer; i++) {
    const p = `h.${i}`;
    // [B, T, 3d] → [B, T, 3, H, hd] → [3, B, H, T, hd], split into q, k, v as GPTAttention does
    const qkv = g.op(
      "Transpose",
      [
        g.op("Reshape", [
          g.affineNd(layerNorm(x, `${p}.ln_1`), affine(dict, `${p}.attn.c_attn`)),
          headsShape,
        ]),
      ],
      {
        perm: { ints: [2, 0, 3, 1, 4] },
      },
    );
    const part = (j: number): string =>
      g.op("Gather", [qkv, g.int64Constant([j], [], "qkv_index")], { axis: { int: 0 } });
    const q = part(0);
    const k = part(1);
    const v = part(2);
    const kT = g.op("Transpose", [k], { perm: { ints: [0, 1, 3, 2] } });
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, kT]), scale]), causalMask]);
    const heads = g.op("MatMul", [g.op("Softmax", [scores], { axis: { int: -1 } }), v]); // [B, H, T, hd]
    const merged = g.op("Reshape", [
      g.op("Transpose", [heads], { perm: { ints: [0, 2, 1, 3] } }),
      mergedShape,
    ]);
    x = g.op("Add", [x, g.affineNd(merged, affine(dict, `${p}.attn.c_proj`))]);
    const hidden = g.activation(g.affineNd(layerNorm(x, `${p}.ln_2`), affine(dict, `${p}.mlp.c_fc`)), "gelu");
    x = g.op("Add", [x, g.affineNd(hidden, affine(dict, `${p}.mlp.c_proj`))]);
  }
  const final = layerNorm(x, "ln_f");
  const logits = g.op("MatMul", [final, g.op("Transpose", [wte], { perm: { ints: [1, 0] } })]);
  g.output("logits", logits, "float32", ["batch", "sequence", vocabSize]);
}
