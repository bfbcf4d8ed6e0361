/**
 * A small builder for ONNX graphs: constants, operator nodes with fresh value names, and the layer
 * patterns proximal's networks are made of (affine layers, activations, MLPs, LayerNorm), so each
 * exporter reads as the forward pass it mirrors.
 */
import { ProximalError } from "../../errors.js";
import type { Activation } from "../../nn/mlp.js";
import type {
  OnnxAttribute,
  OnnxDataType,
  OnnxModel,
  OnnxNode,
  OnnxTensor,
  OnnxValueInfo,
} from "./onnxModel.js";

/** The weights of one affine layer `y = x Wᵀ + b`, in PyTorch's layout: weight [out, in], bias [out]. */
export interface AffineWeights {
  weight: Float32Array;
  bias: Float32Array | null;
  inFeatures: number;
  outFeatures: number;
}

/** √(2/π), the constant of GPT-2's tanh approximation of GELU. */
const GELU_C = Math.sqrt(2 / Math.PI);

/** Builds one ONNX graph; values are referred to by the names the methods return. */
export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  /** A fresh value name starting with `hint`. */
  private fresh(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.used.has(name)) name = `${hint}_${this.counter++}`;
    this.used.add(name);
    return name;
  }

  /** Declare a graph input; its name is returned as given. */
  input(name: string, dataType: OnnxDataType, shape: (number | string)[]): string {
    this.used.add(name);
    this.inputs.push({ name, dataType, shape });
    return name;
  }

  /** Expose `value` as the graph output `name` (through an Identity node, so any value can be one). */
  output(name: string, value: string, dataType: OnnxDataType, shape: (number | string)[]): void {
    if (this.used.has(name)) {
      throw new ProximalError(
        "INTERNAL",
        `ONNX graph output "${name}" is declared twice. Please report this bug.`,
      );
    }
    this.used.add(name);
    this.nodes.push({ opType: "Identity", inputs: [value], outputs: [name], name: `output_${name}` });
    this.outputs.push({ name, dataType, shape });
  }

  /** A float32 constant (an initializer) of shape `dims`. */
  constant(values: ArrayLike<number>, dims: number[], hint = "const"): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, data: Float32Array.from(values) });
    return name;
  }

  /** An int64 constant, e.g. the shape of a Reshape or the axes of a ReduceSum. */
  int64Constant(values: readonly number[], dims: number[] = [values.length], hint = "ints"): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, data: BigInt64Array.from(values, (v) => BigInt(v)) });
    return name;
  }

  /** One node of `opType` on `inputs`; returns the name of its (single) output. */
  op(opType: string, inputs: string[], attributes?: Record<string, OnnxAttribute>): string {
    const output = this.fresh(opType.toLowerCase());
    this.nodes.push({
      opType,
      inputs,
      outputs: [output],
      name: `${opType}_${this.nodes.length}`,
      attributes,
    });
    return output;
  }

  /** `x Wᵀ + b` for 2-D `x` [batch, in] (Gemm with transB, as torch exports nn.Linear). */
  affine(x: string, layer: AffineWeights): string {
    const weight = this.constant(layer.weight, [layer.outFeatures, layer.inFeatures], "weight");
    const inputs = [x, weight];
    if (layer.bias !== null) inputs.push(this.constant(layer.bias, [layer.outFeatures], "bias"));
    return this.op("Gemm", inputs, { transB: { int: 1 } });
  }

  /** `x Wᵀ + b` for `x` of any rank [..., in] (MatMul with the transposed weight, then Add). */
  affineNd(x: string, layer: AffineWeights): string {
    const { inFeatures: n, outFeatures: m } = layer;
    const transposed = new Float32Array(n * m);
    for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) transposed[i * m + o] = layer.weight[o * n + i];
    const product = this.op("MatMul", [x, this.constant(transposed, [n, m], "weight")]);
    if (layer.bias === null) return product;
    return this.op("Add", [product, this.constant(layer.bias, [m], "bias")]);
  }

  /** An elementwise {@link Activation}; `"gelu"` is GPT-2's tanh form, spelled out (Gelu is opset 20). */
  activation(x: string, activation: Activation): string {
    switch (activation) {
      case "tanh":
        return this.op("Tanh", [x]);
      case "relu":
        return this.op("Relu", [x]);
      case "gelu": {
        // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
        const cube = this.op("Mul", [this.op("Mul", [x, x]), x]);
        const inner = this.op("Add", [x, this.op("Mul", [cube, this.constant([0.044715], [], "gelu_k")])]);
        const t = this.op("Tanh", [this.op("Mul", [inner, this.constant([GELU_C], [], "gelu_c")])]);
        const onePlus = this.op("Add", [t, this.constant([1], [], "one")]);
        return this.op("Mul", [this.op("Mul", [x, onePlus]), this.constant([0.5], [], "half")]);
      }
      default:
        activation satisfies never;
        throw new ProximalError(
          "INTERNAL",
          `Unknown activation "${activation as string}". Please report this bug.`,
        );
    }
  }

  /**
   * An MLP as {@link MLP} computes it: each layer affine, `activation` between layers, and
   * `outputActivation` (if any) after the last.
   */
  mlp(x: string, layers: AffineWeights[], activation: Activation, outputActivation?: Activation): string {
    let h = x;
    layers.forEach((layer, i) => {
      h = this.affine(h, layer);
      if (i + 1 < layers.length) h = this.activation(h, activation);
      else if (outputActivation !== undefined) h = this.activation(h, outputActivation);
    });
    return h;
  }

  /** The finished model. */
  build(meta: Pick<OnnxModel, "graphName" | "producerVersion" | "docString" | "metadata">): OnnxModel {
    return {
      ...meta,
      nodes: this.nodes.slice(),
      initializers: this.initializers.slice(),
      inputs: this.inputs.slice(),
      outputs: this.outputs.slice(),
    };
  }
}
