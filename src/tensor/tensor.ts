import { ProximalError } from "../errors.js";
import { warnOnce } from "../warnOnce.js";
import type { Backend, BackendName } from "./backend.js";
import { rejectReservedBackend } from "./backend.js";
import { CpuBackend } from "./cpuBackend.js";
import type { BackendInfo } from "./defaultBackend.js";
import { chooseDefaultBackend, nativeIsDefaultHere, requestedBackend } from "./defaultBackend.js";
import { loadNativeBackend, nativeLoadFailure, requireNativeBackend } from "./nativeBackend.js";
import * as ops from "./ops.js";
import type { Shape } from "./shape.js";
import { checkShape, formatShape, sizeOf } from "./shape.js";
import { allocFloat32ForOverwrite, releaseFloat32 } from "./storage.js";
import { loadWasmBackend, requireWasmBackend, wasmLoadFailure } from "./wasmBackend.js";

// The tensor engine's design follows micrograd/tinygrad: every op is defined once in ops.ts with its
// gradient rule beside it; `backward()` sorts the graph topologically and walks it in reverse.
// Gradient rules are written with differentiable tensor ops, so `backward({ createGraph: true })`
// records the backward pass itself and a gradient of a gradient works (TRPO's Fisher-vector product).

/** Element types of a {@link Tensor}: 32-bit floats, or 32-bit integers (indices, token ids, masks). */
export type DType = "float32" | "int32";
/** The flat, row-major storage of a {@link Tensor}, one typed array per {@link DType}. */
export type TensorData = Float32Array | Int32Array;

/** Computes the gradients of an op's inputs from the gradient of its output (null: no gradient). */
export type GradientRule = (gradOutput: Tensor, output: Tensor) => (Tensor | null)[];

let nextId = 0;

/**
 * A dense, contiguous, row-major n-dimensional array of float32 (or int32 for indices) that can
 * record the ops applied to it and compute gradients in reverse mode.
 *
 * @example
 * const x = tensor([1, 2, 3], [3], { requiresGrad: true });
 * const y = x.mul(x).sum();     // 14
 * y.backward();
 * x.grad?.toArray();            // [2, 4, 6]
 */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The elements, row-major. Owned by this tensor (views share it only through reshape/detach). */
  readonly data: TensorData;
  /** Whether gradients flow to this tensor. Leaves set it by hand; op results inherit it. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after `backward()`. */
  grad: Tensor | null = null;
  /** The op inputs and gradient rule that produced this tensor (null for leaves). */
  inputs: Tensor[] | null = null;
  gradientRule: GradientRule | null = null;
  /** Optional name, used in error messages and state dicts. */
  name?: string;

  constructor(data: TensorData, shape: Shape, dtype?: DType) {
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `Tensor data has ${data.length} elements but shape ${formatShape(shape)} needs ${size}.`,
      );
    }
    this.data = data;
    this.shape = shape.slice();
    this.dtype = dtype ?? (data instanceof Int32Array ? "int32" : "float32");
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** True when this tensor was computed by an op (it has a gradient rule). */
  get isLeaf(): boolean {
    return this.gradientRule === null;
  }

  /** The float32 data; throws for int32 tensors. */
  get values(): Float32Array {
    if (!(this.data instanceof Float32Array)) {
      throw new ProximalError(
        "DTYPE_MISMATCH",
        `Expected a float32 tensor, got ${this.dtype} ${formatShape(this.shape)}.`,
      );
    }
    return this.data;
  }

  /** The single element of a one-element tensor, as a number. */
  item(): number {
    if (this.data.length !== 1) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `item() needs a one-element tensor, got shape ${formatShape(this.shape)}.`,
      );
    }
    return this.data[0];
  }

  /** A plain array copy of the data (flat). */
  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Mark this leaf as needing gradients (returns this, for chaining). */
  requireGrad(flag = true): this {
    if (flag && this.dtype !== "float32") {
      throw new ProximalError("DTYPE_MISMATCH", "Only float32 tensors can require gradients.");
    }
    this.requiresGrad = flag;
    return this;
  }

  /** A tensor sharing this data but cut from the graph (no gradient flows through it). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype);
  }

  /** A deep copy of the data, cut from the graph. */
  clone(): Tensor {
    if (!(this.data instanceof Float32Array)) return new Tensor(this.data.slice(), this.shape, this.dtype);
    // from the storage allocator, as op results are (a fresh ArrayBuffer per copy costs more: storage.ts)
    const copy = allocFloat32ForOverwrite(this.data.length);
    copy.set(this.data);
    return new Tensor(copy, this.shape, this.dtype);
  }

  /**
   * Clear the accumulated gradient. With `setToNone` (the default, as PyTorch 2) the gradient
   * becomes null, so optimizers skip a parameter that gets no gradient in the next pass; with false,
   * an existing gradient buffer is zeroed in place and reused (no allocation per training step).
   */
  zeroGrad(setToNone = true): void {
    if (!setToNone && this.grad !== null && this.grad.gradientRule === null && this.grad.size === this.size) {
      this.grad.data.fill(0);
    } else {
      this.grad = null;
    }
  }

  /**
   * Reverse-mode autodiff from this tensor. Without `gradient`, this tensor must have one element
   * (the usual scalar loss). Leaf gradients accumulate into `.grad` (call `zeroGrad` between steps).
   * `createGraph` records the backward pass so the resulting gradients can be differentiated again.
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward([this], [gradient ?? null], options, null);
  }

  /** A short description: dtype, shape and the first values. */
  toString(): string {
    const preview = Array.from(this.data.subarray(0, 8))
      .map((v) => Number(v.toPrecision(5)))
      .join(", ");
    return `Tensor(${formatShape(this.shape)} ${this.dtype} [${preview}${this.data.length > 8 ? ", ..." : ""}])`;
  }

  // Method forms of the ops (each is documented in ops.ts).
  /** `this + other`, broadcasting (`ops.add`). */
  add(other: Tensor | number): Tensor {
    return ops.add(this, other);
  }
  /** `this − other`, broadcasting (`ops.sub`). */
  sub(other: Tensor | number): Tensor {
    return ops.sub(this, other);
  }
  /** `this · other` elementwise, broadcasting (`ops.mul`). */
  mul(other: Tensor | number): Tensor {
    return ops.mul(this, other);
  }
  /** `this / other`, broadcasting (`ops.div`). */
  div(other: Tensor | number): Tensor {
    return ops.div(this, other);
  }
  /** `this ** exponent`, broadcasting (`ops.pow`). */
  pow(exponent: Tensor | number): Tensor {
    return ops.pow(this, exponent);
  }
  /** `−this` (`ops.neg`). */
  neg(): Tensor {
    return ops.neg(this);
  }
  /** `eˣ` elementwise (`ops.exp`). */
  exp(): Tensor {
    return ops.exp(this);
  }
  /** Natural logarithm elementwise (`ops.log`). */
  log(): Tensor {
    return ops.log(this);
  }
  /** `√x` elementwise (`ops.sqrt`). */
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  /** `x²` elementwise (`ops.square`). */
  square(): Tensor {
    return ops.square(this);
  }
  /** `tanh x` elementwise (`ops.tanh`). */
  tanh(): Tensor {
    return ops.tanh(this);
  }
  /** `max(x, 0)` elementwise (`ops.relu`). */
  relu(): Tensor {
    return ops.relu(this);
  }
  /** `1 / (1 + e⁻ˣ)` elementwise (`ops.sigmoid`). */
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  /** `|x|` elementwise (`ops.abs`). */
  abs(): Tensor {
    return ops.abs(this);
  }
  /** Each value clipped to `[min, max]` (`ops.clamp`). */
  clamp(min: number, max: number): Tensor {
    return ops.clamp(this, min, max);
  }
  /** Elementwise minimum with `other`, broadcasting (`ops.minimum`). */
  minimum(other: Tensor | number): Tensor {
    return ops.minimum(this, other);
  }
  /** Elementwise maximum with `other`, broadcasting (`ops.maximum`). */
  maximum(other: Tensor | number): Tensor {
    return ops.maximum(this, other);
  }
  /** Matrix product `this · other` (`ops.matmul`). */
  matmul(other: Tensor): Tensor {
    return ops.matmul(this, other);
  }
  /** Sum over `axis` (all axes when omitted) (`ops.sum`). */
  sum(axis?: number | number[], keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  /** Mean over `axis` (all axes when omitted) (`ops.mean`). */
  mean(axis?: number | number[], keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  /** Maximum over `axis` (all axes when omitted) (`ops.max`). */
  max(axis?: number | number[], keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  /** The same values in `shape`; one size may be −1 (`ops.reshape`). */
  reshape(shape: Shape): Tensor {
    return ops.reshape(this, shape);
  }
  /** Swap two axes, the last two by default (`ops.transpose`). */
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops.transpose(this, axis0, axis1);
  }
  /** Reorder the axes (`ops.permute`). */
  permute(axes: number[]): Tensor {
    return ops.permute(this, axes);
  }
  /** Softmax along `axis` (`ops.softmax`). */
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  /** Log-softmax along `axis`, computed stably (`ops.logSoftmax`). */
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
}

/** Options of {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Record the backward pass so gradients can be differentiated again. @defaultValue false */
  createGraph?: boolean;
  /** Keep the graph for another backward pass. @defaultValue createGraph */
  retainGraph?: boolean;
}

// ---------------------------------------------------------------------------------------------
// gradient mode and backend selection

let gradEnabled = true;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording the graph (inference, target computation, optimizer steps). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Run `fn` with graph recording forced on or off. */
export function withGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

const cpuBackend = new CpuBackend();
// Chosen on first use rather than at import, so a bad PROXIMAL_BACKEND surfaces as a ProximalError
// from the first op (which the CLI reports in one line) instead of a crash while loading the module.
let currentBackend: Backend | undefined;
let currentReason = "";

function chooseBackend(): Backend {
  const choice = chooseDefaultBackend({
    requested: requestedBackend(),
    wasmFailure: wasmLoadFailure(),
    nativeFailure: nativeLoadFailure(),
    nativeIsa: loadNativeBackend()?.isa,
    nativeDefault: nativeIsDefaultHere(),
  });
  if (choice.warning !== undefined) warnOnce(choice.warning, "PROXIMAL_BACKEND_FALLBACK");
  currentBackend =
    choice.name === "native"
      ? requireNativeBackend()
      : choice.name === "wasm"
        ? requireWasmBackend()
        : cpuBackend;
  currentReason = choice.reason;
  return currentBackend;
}

/**
 * The backend kernels run on now. Unless {@link setBackend} chose one: `PROXIMAL_BACKEND` (`cpu`,
 * `wasm` or `native`) when set, else native on Node where its addon is built, else wasm where
 * WebAssembly SIMD loads, else cpu, each fallback with a one-time warning (see chooseDefaultBackend).
 */
export function getBackend(): Backend {
  return currentBackend ?? chooseBackend();
}

/**
 * The active backend, why it was chosen, whether WebAssembly SIMD is available and which build of
 * the wasm kernels loads (relaxed SIMD, fused or not, or SIMD128), the native kernels'
 * instruction-set path, and the thread count.
 */
export function backendInfo(): BackendInfo {
  const backend = getBackend();
  const wasm = loadWasmBackend();
  return {
    name: backend.name,
    reason: currentReason,
    simd: wasm !== null,
    wasmBuild: wasm?.build ?? null,
    wasmFma: wasm?.fma ?? false,
    nativeIsa: loadNativeBackend()?.isa ?? null,
    // the native backend splits large products across its threads; wasm and cpu run on the caller's
    threads: backend.name === "native" ? (loadNativeBackend()?.threads ?? 1) : 1,
  };
}

/**
 * Run the native backend's large matrix products on `n` threads (an integer from 1 to 256). The
 * default is `PROXIMAL_THREADS` where set, else the number of cores. Results are bit-identical for
 * every thread count. The wasm and cpu backends run on one thread: where the native backend is not
 * available this throws BACKEND_UNAVAILABLE naming why, rather than doing nothing.
 */
export function setNumThreads(n: number): void {
  requireNativeBackend().setThreads(n);
}

/** Choose the kernel backend for all later ops (this overrides `PROXIMAL_BACKEND`). */
export function setBackend(name: BackendName): void {
  switch (name) {
    case "cpu":
      currentBackend = cpuBackend;
      break;
    case "wasm":
      currentBackend = requireWasmBackend();
      break;
    case "native":
      currentBackend = requireNativeBackend();
      break;
    default:
      name satisfies never;
      rejectReservedBackend(name as string, `setBackend("${name as string}")`);
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `Unknown backend "${name as string}". Use "cpu", "wasm" or "native".`,
      );
  }
  currentReason = `setBackend("${name}")`;
}

/** Names of the backends available in this runtime. */
export function availableBackends(): BackendName[] {
  const names: BackendName[] = ["cpu"];
  if (loadWasmBackend() !== null) names.push("wasm");
  if (loadNativeBackend() !== null) names.push("native");
  return names;
}

/** Run `fn` with a given backend, restoring the previous one afterwards. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = currentBackend;
  const previousReason = currentReason;
  setBackend(name);
  currentReason = `withBackend("${name}")`;
  try {
    return fn();
  } finally {
    currentBackend = previous;
    currentReason = previousReason;
  }
}

// ---------------------------------------------------------------------------------------------
// graph construction and the backward pass

/**
 * Whether an op on these inputs records the graph now: gradients are enabled and some input requires
 * them. Ops test it before building their inputs list and gradient closure, so a forward pass under
 * {@link noGrad} (acting, evaluation, target values) allocates neither.
 */
export function recording(a: Tensor, b?: Tensor | null, c?: Tensor | null): boolean {
  return gradEnabled && (a.requiresGrad || b?.requiresGrad === true || c?.requiresGrad === true);
}

/**
 * Wrap an op's output: when recording and some input needs gradients, remember the inputs and the
 * gradient rule. Every op in ops.ts ends with this call.
 */
export function record(output: Tensor, inputs: Tensor[], rule: GradientRule): Tensor {
  if (!gradEnabled) return output;
  for (const t of inputs) {
    if (t.requiresGrad) {
      output.requiresGrad = true;
      output.inputs = inputs;
      output.gradientRule = rule;
      return output;
    }
  }
  return output;
}

/**
 * Gradients of `outputs` with respect to `inputs` (torch.autograd.grad): returns them instead of
 * accumulating into `.grad`. An input the outputs do not depend on gets a zero tensor.
 */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor[],
  options: BackwardOptions & { gradOutputs?: (Tensor | null)[] } = {},
): Tensor[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const seeds = options.gradOutputs ?? outs.map(() => null);
  const collected = new Map<Tensor, Tensor>();
  for (const t of inputs) {
    if (!t.requiresGrad) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `grad(): input ${t.name ?? t.toString()} does not require gradients.`,
      );
    }
  }
  runBackward(outs, seeds, options, { targets: new Set(inputs), collected });
  return inputs.map((t) => collected.get(t) ?? ops.zerosLike(t));
}

interface GradTargets {
  targets: Set<Tensor>;
  collected: Map<Tensor, Tensor>;
}

function runBackward(
  roots: Tensor[],
  seeds: (Tensor | null)[],
  options: BackwardOptions,
  capture: GradTargets | null,
): void {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  // a createGraph pass's gradients are graph nodes the caller may keep: none is released
  const grads = new PendingGradients(!createGraph);
  for (let r = 0; r < roots.length; r++) {
    const root = roots[r];
    if (!root.requiresGrad) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "backward(): this tensor does not require gradients: no input of the computation has requiresGrad set (or it ran under noGrad).",
      );
    }
    let seed = seeds[r];
    if (seed === null) {
      if (root.size !== 1) {
        throw new ProximalError(
          "SHAPE_MISMATCH",
          `backward() without a gradient needs a one-element output, got shape ${formatShape(root.shape)}. Reduce it (e.g. .mean()) or pass a gradient.`,
        );
      }
      seed = ops.onesLike(root);
    } else if (seed.size !== root.size) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `backward(): gradient shape ${formatShape(seed.shape)} does not match output shape ${formatShape(root.shape)}.`,
      );
    }
    if (seeds[r] !== null) grads.pin(seed); // the caller's tensor
    grads.add(root, seed.shape === root.shape ? seed : seed.reshape(root.shape));
  }
  const order = topologicalOrder(roots);
  for (const node of order) {
    if (freedNodes.has(node)) {
      // its inputs and gradient rule are gone, so gradients would silently stop here
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `backward(): the graph through ${node.name ?? node.toString()} was freed by an earlier backward()/grad() call. Pass { retainGraph: true } to the earlier call to go through the same graph again (e.g. repeated Hessian-vector products), or recompute the forward pass.`,
      );
    }
  }
  withGradEnabled(createGraph, () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const g = grads.get(node);
      if (g === undefined) continue;
      if (capture?.targets.has(node)) {
        capture.collected.set(node, g);
        grads.pin(g); // returned to the caller
      }
      if (node.gradientRule === null || node.inputs === null) {
        if (capture === null) {
          grads.take(node);
          accumulateLeaf(node, g, createGraph, grads);
          grads.releaseUnused(node);
        }
        continue;
      }
      grads.take(node);
      const inputGrads = node.gradientRule(g, node);
      const inputs = node.inputs;
      for (let j = 0; j < inputs.length; j++) {
        const input = inputs[j];
        const ig = inputGrads[j];
        if (ig === null || ig === undefined || !input.requiresGrad) continue;
        if (ig.size !== input.size) {
          throw new ProximalError(
            "INTERNAL",
            `Gradient rule produced shape ${formatShape(ig.shape)} for an input of shape ${formatShape(input.shape)}. This is a bug in proximal; please report it.`,
          );
        }
        grads.add(input, ig);
      }
      grads.releaseUnused(node);
      if (!retainGraph) {
        node.inputs = null;
        node.gradientRule = null;
        freedNodes.add(node);
      }
    }
  });
}

// non-leaf nodes whose graph a backward pass without retainGraph released
const freedNodes = new WeakSet<Tensor>();

// leaf gradients allocated by accumulateLeaf itself: only these may be accumulated into in place,
// since a createGraph gradient can share its data with other tensors (add passes g to both inputs)
const ownedGrads = new WeakSet<Tensor>();

/**
 * The gradients of the nodes a backward pass has still to visit. It counts the entries that use
 * each buffer, so that a large gradient the pass made and consumed (an op's output gradient once its
 * rule has run, a partial sum once added) goes back to the allocator's pool at once instead of
 * waiting for the garbage collector (storage.ts, `releaseFloat32`). Never released: buffers still
 * referenced by an entry, the caller's seeds and captured gradients (pinned), forward tensors' data
 * (a rule may pass one through), and everything in a createGraph pass.
 */
class PendingGradients {
  private readonly grads = new Map<Tensor, Tensor>();
  private readonly uses = new Map<ArrayBufferLike, number>();
  private readonly pinned = new Set<ArrayBufferLike>();
  /** Gradients that left the map since the last `releaseUnused`. */
  private dropped: Tensor[] = [];

  constructor(private readonly releasing: boolean) {}

  get(t: Tensor): Tensor | undefined {
    return this.grads.get(t);
  }

  /** Add `g` to `t`'s gradient. */
  add(t: Tensor, g: Tensor): void {
    const existing = this.grads.get(t);
    if (existing === undefined) {
      this.set(t, g);
      return;
    }
    this.set(t, ops.add(existing, g));
    this.dropped.push(existing, g);
  }

  /** Remove and return `t`'s gradient (it is being consumed). */
  take(t: Tensor): Tensor | undefined {
    const g = this.grads.get(t);
    if (g === undefined) return undefined;
    this.grads.delete(t);
    this.count(g, -1);
    this.dropped.push(g);
    return g;
  }

  pin(g: Tensor): void {
    this.pinned.add(g.data.buffer);
  }

  /**
   * Whether a leaf may keep `g` (just taken) as its gradient instead of a copy: true when the pass
   * would otherwise release it, i.e. no entry, pin or forward tensor of `node` uses its buffer, and
   * `g` spans its whole buffer (a view into a larger gradient could be released with it). The
   * buffer is then pinned, so this pass never releases it. Saves a copy of every large weight's
   * gradient per backward pass (3% of a SAC run).
   */
  adopt(g: Tensor, node: Tensor): boolean {
    if (!this.releasing) return false;
    const data = g.data;
    const buffer = data.buffer;
    if (data.byteOffset !== 0 || data.byteLength !== buffer.byteLength) return false;
    if ((this.uses.get(buffer) ?? 0) > 0 || this.pinned.has(buffer) || sharesData(node, buffer)) return false;
    this.pinned.add(buffer);
    return true;
  }

  /**
   * Release the dropped gradients that no entry uses any more. Called once a node's rule has run
   * and all of its input gradients are stored, since a rule may pass the same tensor to several
   * inputs (add) or return a view of its output gradient (reshape).
   */
  releaseUnused(node: Tensor): void {
    const dropped = this.dropped;
    this.dropped = [];
    if (!this.releasing) return;
    for (const g of dropped) {
      const buffer = g.data.buffer;
      if ((this.uses.get(buffer) ?? 0) > 0 || this.pinned.has(buffer) || sharesData(node, buffer)) continue;
      if (g.data instanceof Float32Array) releaseFloat32(g.data);
    }
  }

  private set(t: Tensor, g: Tensor): void {
    const previous = this.grads.get(t);
    if (previous !== undefined) this.count(previous, -1);
    this.grads.set(t, g);
    this.count(g, 1);
  }

  private count(g: Tensor, delta: number): void {
    const buffer = g.data.buffer;
    this.uses.set(buffer, (this.uses.get(buffer) ?? 0) + delta);
  }
}

/** Whether `node` or one of its inputs holds its data in `buffer`. */
function sharesData(node: Tensor, buffer: ArrayBufferLike): boolean {
  if (node.data.buffer === buffer) return true;
  for (const input of node.inputs ?? []) if (input.data.buffer === buffer) return true;
  return false;
}

function accumulateLeaf(leaf: Tensor, g: Tensor, createGraph: boolean, grads: PendingGradients): void {
  const shaped =
    g.shape.length === leaf.shape.length && g.shape.every((d, i) => d === leaf.shape[i])
      ? g
      : g.reshape(leaf.shape);
  if (leaf.grad === null) {
    // a gradient tensor may be shared by several leaves (add passes it through), so own a copy
    // unless the pass says nothing else uses it (`adopt`)
    leaf.grad = createGraph ? shaped : grads.adopt(g, leaf) ? shaped.detach() : shaped.detach().clone();
    if (!createGraph) ownedGrads.add(leaf.grad);
  } else if (createGraph) {
    leaf.grad = ops.add(leaf.grad, shaped);
  } else if (!ownedGrads.has(leaf.grad)) {
    leaf.grad = ops.add(leaf.grad.detach(), shaped.detach());
    ownedGrads.add(leaf.grad);
  } else {
    const acc = leaf.grad.values;
    const add = shaped.values;
    for (let i = 0; i < acc.length; i++) acc[i] += add[i];
  }
}

/** Nodes reachable from the roots, each after all of its inputs (iterative DFS). */
function topologicalOrder(roots: Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [];
  for (const root of roots) {
    if (visited.has(root)) continue;
    visited.add(root);
    stack.push([root, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, next] = top;
      const inputs = node.inputs;
      if (inputs !== null && next < inputs.length) {
        top[1]++;
        const child = inputs[next];
        if (child.requiresGrad && !visited.has(child)) {
          visited.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  return order;
}

// ---------------------------------------------------------------------------------------------
// creation

/** Options of the tensor constructors ({@link tensor}, {@link zeros}, ...). */
export interface TensorOptions {
  /** Element type. @defaultValue "float32" */
  dtype?: DType;
  /** Record operations on this tensor so `backward()` computes its gradient. @defaultValue false */
  requiresGrad?: boolean;
}

/**
 * Make a tensor from (nested) numbers or a typed array. The shape is inferred from nesting when
 * not given.
 */
export function tensor(
  values: NestedNumbers | TensorData | number,
  shape?: Shape,
  options: TensorOptions = {},
): Tensor {
  const dtype = options.dtype ?? (values instanceof Int32Array ? "int32" : "float32");
  let flat: number[] | TensorData;
  let inferred: number[];
  if (typeof values === "number") {
    flat = [values];
    inferred = [];
  } else if (ArrayBuffer.isView(values)) {
    flat = values;
    inferred = [values.length];
  } else {
    inferred = inferShape(values);
    flat = (values as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
  }
  const finalShape = shape ?? inferred;
  checkShape(finalShape);
  const data =
    dtype === "int32" ? Int32Array.from(flat) : flat instanceof Float32Array ? flat : Float32Array.from(flat);
  const t = new Tensor(data, finalShape, dtype);
  if (options.requiresGrad) t.requireGrad();
  return t;
}

export type NestedNumbers = number[] | NestedNumbers[];

function inferShape(values: unknown): number[] {
  const shape: number[] = [];
  let level: unknown = values;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/** A tensor of zeros. */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  checkShape(shape);
  const n = sizeOf(shape);
  const t = new Tensor(options.dtype === "int32" ? new Int32Array(n) : new Float32Array(n), shape);
  if (options.requiresGrad) t.requireGrad();
  return t;
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  const t = zeros(shape, { dtype: options.dtype });
  t.data.fill(value);
  if (options.requiresGrad) t.requireGrad();
  return t;
}

/** A tensor of ones. */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return full(shape, 1, options);
}

/** A scalar (shape []) tensor. */
export function scalar(value: number): Tensor {
  return new Tensor(Float32Array.of(value), []);
}

/** `[start, start+step, ...)` below `end`. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const t = zeros([n], { dtype: options.dtype });
  for (let i = 0; i < n; i++) t.data[i] = start + i * step;
  return t;
}
