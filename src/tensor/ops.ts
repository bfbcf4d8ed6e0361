import { ProximalError } from "../errors.js";
import type { BinaryOp, FusedActivation, UnaryOp } from "./backend.js";
import { packedWeightFor } from "./packedWeights.js";
import type { Shape } from "./shape.js";
import {
  broadcastShapes,
  broadcastView,
  formatShape,
  normalizeAxis,
  shapesEqual,
  sizeOf,
  stridesOf,
} from "./shape.js";
import { allocFloat32, allocFloat32ForOverwrite } from "./storage.js";
import { type GradientRule, getBackend, isGradEnabled, noGrad, record, recording, Tensor } from "./tensor.js";

// Every op of the engine, each defined once: forward (through the current backend's kernels) and,
// right below it, its gradient rule. Rules use differentiable ops only, so gradients can be
// differentiated again (except layerNorm, whose fused backward kernel is first-order only).
// Ops are grouped under banners: elementwise binary, unary, reduce, movement, nn, matmul.

/** An op's output array. Every op below writes its output in full, so a reused buffer is not zeroed first. */
function floatOut(shape: Shape): Float32Array {
  return allocFloat32ForOverwrite(sizeOf(shape));
}

function requireFloat(x: Tensor, op: string): Float32Array {
  if (x.dtype !== "float32") {
    throw new ProximalError(
      "DTYPE_MISMATCH",
      `${op} needs a float32 tensor, got ${x.dtype} ${formatShape(x.shape)}.`,
    );
  }
  return x.data as Float32Array;
}

function asTensor(x: Tensor | number): Tensor {
  return typeof x === "number" ? new Tensor(Float32Array.of(x), []) : x;
}

/** Zeros with the shape of `x` (float32). */
export function zerosLike(x: Tensor): Tensor {
  return new Tensor(allocFloat32(x.size), x.shape);
}

/** Ones with the shape of `x` (float32). */
export function onesLike(x: Tensor): Tensor {
  return new Tensor(allocFloat32(x.size).fill(1), x.shape);
}

/**
 * The inputs an op recorded, for its gradient rule. Rules read them from the node rather than
 * capturing them, so an op builds no closure (nor the context a closure needs) unless it records:
 * a forward pass under noGrad allocates only its results.
 */
function inputsOf(node: Tensor): Tensor[] {
  return node.inputs as Tensor[];
}

/** Constant float tensor (never requires gradients). */
function constant(data: Float32Array, shape: Shape): Tensor {
  return new Tensor(data, shape);
}

// ============================================================================================
// elementwise binary (NumPy broadcasting)

function binaryForward(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const ad = requireFloat(a, op);
  const bd = requireFloat(b, op);
  const shape = shapesEqual(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, op);
  const out = floatOut(shape);
  const view = broadcastView(a.shape, b.shape, shape);
  if (view !== null) {
    getBackend().binary(
      op,
      ad,
      bd,
      out,
      view.outer,
      view.inner,
      view.aOuter,
      view.aInner,
      view.bOuter,
      view.bInner,
    );
  } else {
    const ae = expandData(ad, a.shape, shape);
    const be = expandData(bd, b.shape, shape);
    getBackend().binary(op, ae, be, out, 1, out.length, 0, 1, 0, 1);
  }
  return new Tensor(out, shape);
}

/** `a + b`. d(a+b) = da + db */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  const out = binaryForward("add", x, y);
  return recording(x, y) ? record(out, [x, y], addRule) : out;
}

function addRule(g: Tensor, node: Tensor): Tensor[] {
  const [x, y] = inputsOf(node);
  return [sumToShape(g, x.shape), sumToShape(g, y.shape)];
}

/** `a - b`. d(a-b) = da - db */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  const out = binaryForward("sub", x, y);
  return recording(x, y) ? record(out, [x, y], subRule) : out;
}

function subRule(g: Tensor, node: Tensor): (Tensor | null)[] {
  const [x, y] = inputsOf(node);
  return [sumToShape(g, x.shape), y.requiresGrad ? sumToShape(neg(g), y.shape) : null];
}

/** `a * b`. d(ab) = b da + a db */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  const out = binaryForward("mul", x, y);
  return recording(x, y) ? record(out, [x, y], mulRule) : out;
}

function mulRule(g: Tensor, node: Tensor): (Tensor | null)[] {
  const [x, y] = inputsOf(node);
  return [
    x.requiresGrad ? sumToShape(mul(g, y), x.shape) : null,
    y.requiresGrad ? sumToShape(mul(g, x), y.shape) : null,
  ];
}

/** `a / b`. d(a/b) = da / b - (a/b²) db */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  const out = binaryForward("div", x, y);
  return recording(x, y) ? record(out, [x, y], divRule) : out;
}

function divRule(g: Tensor, node: Tensor): (Tensor | null)[] {
  const [x, y] = inputsOf(node);
  return [
    x.requiresGrad ? sumToShape(div(g, y), x.shape) : null,
    y.requiresGrad ? sumToShape(neg(div(mul(g, node), y)), y.shape) : null,
  ];
}

/** `a ** b`. d(a^b) = b a^(b-1) da + a^b ln(a) db */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  return record(binaryForward("pow", x, y), [x, y], (g, out) => [
    x.requiresGrad ? sumToShape(mul(g, mul(y, pow(x, sub(y, 1)))), x.shape) : null,
    y.requiresGrad ? sumToShape(mul(g, mul(out, log(x))), y.shape) : null,
  ]);
}

/**
 * Elementwise maximum (NaN propagates). Gradient goes to the larger operand; ties split it
 * half-half, as torch.maximum.
 */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  return extremum("maximum", asTensor(a), asTensor(b));
}

/** Elementwise minimum (NaN propagates); ties split the gradient half-half, as torch.minimum. */
export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  return extremum("minimum", asTensor(a), asTensor(b));
}

function extremum(op: "maximum" | "minimum", x: Tensor, y: Tensor): Tensor {
  const result = binaryForward(op, x, y);
  return recording(x, y) ? record(result, [x, y], extremumRule(op)) : result;
}

function extremumRule(op: "maximum" | "minimum"): GradientRule {
  return (g, out) => {
    const [x, y] = inputsOf(out);
    // weight of x: 1 where x wins, 0.5 on ties, 0 where y wins (a constant mask)
    const xe = expandData(x.values, x.shape, out.shape);
    const ye = expandData(y.values, y.shape, out.shape);
    const wx = allocFloat32(out.size);
    for (let i = 0; i < wx.length; i++) {
      const wins = op === "maximum" ? xe[i] > ye[i] : xe[i] < ye[i];
      wx[i] = xe[i] === ye[i] ? 0.5 : wins ? 1 : 0;
    }
    const maskX = constant(wx, out.shape);
    return [
      x.requiresGrad ? sumToShape(mul(g, maskX), x.shape) : null,
      y.requiresGrad ? sumToShape(mul(g, sub(1, maskX)), y.shape) : null,
    ];
  };
}

function compare(a: Tensor | number, b: Tensor | number, test: (x: number, y: number) => boolean): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  const shape = shapesEqual(x.shape, y.shape) ? x.shape : broadcastShapes(x.shape, y.shape, "compare");
  const xe = expandData(x.data, x.shape, shape);
  const ye = expandData(y.data, y.shape, shape);
  const out = floatOut(shape);
  for (let i = 0; i < out.length; i++) out[i] = test(xe[i], ye[i]) ? 1 : 0;
  return new Tensor(out, shape);
}

/** `a > b` as 1/0 floats (no gradient). */
export function gt(a: Tensor | number, b: Tensor | number): Tensor {
  return compare(a, b, (x, y) => x > y);
}
/** `a >= b` as 1/0 floats (no gradient). */
export function ge(a: Tensor | number, b: Tensor | number): Tensor {
  return compare(a, b, (x, y) => x >= y);
}
/** `a < b` as 1/0 floats (no gradient). */
export function lt(a: Tensor | number, b: Tensor | number): Tensor {
  return compare(a, b, (x, y) => x < y);
}
/** `a <= b` as 1/0 floats (no gradient). */
export function le(a: Tensor | number, b: Tensor | number): Tensor {
  return compare(a, b, (x, y) => x <= y);
}
/** `a == b` as 1/0 floats (no gradient). */
export function eq(a: Tensor | number, b: Tensor | number): Tensor {
  return compare(a, b, (x, y) => x === y);
}

/**
 * `cond ? a : b` elementwise with broadcasting; `cond` is any tensor, nonzero meaning true.
 * d where(c, a, b) = where(c, da, 0) + where(c, 0, db)
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const x = asTensor(a);
  const y = asTensor(b);
  const shape = broadcastShapes(broadcastShapes(cond.shape, x.shape, "where"), y.shape, "where");
  const c = expandData(cond.data, cond.shape, shape);
  const xe = expandData(requireFloat(x, "where"), x.shape, shape);
  const ye = expandData(requireFloat(y, "where"), y.shape, shape);
  const out = floatOut(shape);
  const mask = allocFloat32(out.length);
  for (let i = 0; i < out.length; i++) {
    const take = c[i] !== 0;
    mask[i] = take ? 1 : 0;
    out[i] = take ? xe[i] : ye[i];
  }
  return record(new Tensor(out, shape), [x, y], (g) => {
    const m = constant(mask, shape);
    return [
      x.requiresGrad ? sumToShape(mul(g, m), x.shape) : null,
      y.requiresGrad ? sumToShape(mul(g, sub(1, m)), y.shape) : null,
    ];
  });
}

// ============================================================================================
// elementwise unary

function unaryForward(op: UnaryOp, x: Tensor): Tensor {
  const out = floatOut(x.shape);
  getBackend().unary(op, requireFloat(x, op), out);
  return new Tensor(out, x.shape);
}

/** `-x`. d(-x) = -dx */
export function neg(x: Tensor): Tensor {
  const out = unaryForward("neg", x);
  return recording(x) ? record(out, [x], negRule) : out;
}

const negRule: GradientRule = (g) => [neg(g)];

/** `e^x`. d(e^x) = e^x dx (reuses the output) */
export function exp(x: Tensor): Tensor {
  const out = unaryForward("exp", x);
  return recording(x) ? record(out, [x], expRule) : out;
}

const expRule: GradientRule = (g, node) => [mul(g, node)];

/** Natural log. d(ln x) = dx / x */
export function log(x: Tensor): Tensor {
  const out = unaryForward("log", x);
  return recording(x) ? record(out, [x], logRule) : out;
}

const logRule: GradientRule = (g, node) => [div(g, inputsOf(node)[0])];

/** Square root. d(√x) = dx / (2√x) */
export function sqrt(x: Tensor): Tensor {
  const out = unaryForward("sqrt", x);
  return recording(x) ? record(out, [x], sqrtRule) : out;
}

const sqrtRule: GradientRule = (g, node) => [div(mul(g, 0.5), node)];

/** `x²`. d(x²) = 2x dx */
export function square(x: Tensor): Tensor {
  const out = unaryForward("square", x);
  return recording(x) ? record(out, [x], squareRule) : out;
}

const squareRule: GradientRule = (g, node) => [mul(g, mul(inputsOf(node)[0], 2))];

/** `1/x`. d(1/x) = -dx / x² */
export function reciprocal(x: Tensor): Tensor {
  return record(unaryForward("reciprocal", x), [x], (g, out) => [neg(mul(g, square(out)))]);
}

/** Hyperbolic tangent. d(tanh x) = (1 - tanh² x) dx (reuses the output, one fused kernel) */
export function tanh(x: Tensor): Tensor {
  const out = unaryForward("tanh", x);
  return recording(x) ? record(out, [x], tanhRule) : out;
}

const tanhRule: GradientRule = (g, node) => [tanhBackward(node, g)];

/**
 * The tanh gradient `g·(1 - y²)` as one kernel (y = tanh output). Differentiable itself, for
 * double backward: ∂/∂y = -2yg, ∂/∂g = 1 - y².
 */
function tanhBackward(y: Tensor, g: Tensor): Tensor {
  return record(binaryForward("tanhBackward", y, g), [y, g], (gg) => [
    y.requiresGrad ? sumToShape(mul(gg, mul(mul(y, g), -2)), y.shape) : null,
    g.requiresGrad ? sumToShape(mul(gg, sub(1, square(y))), g.shape) : null,
  ]);
}

/** `max(x, 0)`. d relu = [x > 0] dx. NOTE: the gradient at exactly 0 is 0, as in PyTorch. */
export function relu(x: Tensor): Tensor {
  const out = unaryForward("relu", x);
  return recording(x) ? record(out, [x], reluRule) : out;
}

const reluRule: GradientRule = (g, node) => [reluBackward(inputsOf(node)[0], g)];

/**
 * The relu gradient `x <= 0 ? 0 : g` as one kernel (x = relu input), PyTorch's threshold_backward:
 * measured, the mask-and-multiply it replaces was 16% of a SAC update's time. Differentiable itself
 * for double backward: ∂/∂g = [x > 0] (the same kernel on the incoming gradient), ∂/∂x = 0 almost
 * everywhere.
 */
function reluBackward(x: Tensor, g: Tensor): Tensor {
  return record(binaryForward("reluBackward", x, g), [x, g], (gg) => [
    null,
    g.requiresGrad ? sumToShape(reluBackward(x, gg), g.shape) : null,
  ]);
}

/** Logistic sigmoid. dσ = σ(1 - σ) dx (reuses the output) */
export function sigmoid(x: Tensor): Tensor {
  const out = unaryForward("sigmoid", x);
  return recording(x) ? record(out, [x], sigmoidRule) : out;
}

const sigmoidRule: GradientRule = (g, node) => [mul(g, mul(node, sub(1, node)))];

/** `log(1 + e^x)`, stable for large |x|. d softplus = σ(x) dx */
export function softplus(x: Tensor): Tensor {
  const out = unaryForward("softplus", x);
  return recording(x) ? record(out, [x], softplusRule) : out;
}

const softplusRule: GradientRule = (g, node) => [mul(g, sigmoid(inputsOf(node)[0]))];

/** `|x|`. d|x| = sign(x) dx (0 at 0, as in PyTorch) */
export function abs(x: Tensor): Tensor {
  return record(unaryForward("abs", x), [x], (g) => [mul(g, unaryForward("sign", x))]);
}

/** Error function (used by erf-GELU's gradient). d erf x = 2/√π e^(-x²) dx */
export function erf(x: Tensor): Tensor {
  return record(unaryForward("erf", x), [x], (g) => [
    mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))),
  ]);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU (Hendrycks & Gimpel 2016, arXiv:1606.08415). `approximate: "tanh"` is GPT-2's form
 * `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`; `"none"` is the exact `x Φ(x)` with erf.
 */
export function gelu(x: Tensor, approximate: "tanh" | "none" = "tanh"): Tensor {
  if (approximate === "tanh") {
    const out = unaryForward("geluTanh", x);
    return recording(x) ? record(out, [x], geluTanhRule) : out;
  }
  // d/dx = Φ(x) + x φ(x), Φ = ½(1 + erf(x/√2)), φ = e^(-x²/2)/√(2π)
  return record(unaryForward("geluErf", x), [x], (g) => {
    const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [mul(g, add(cdf, mul(x, pdf)))];
  });
}

const geluTanhRule: GradientRule = (g, node) => [geluTanhBackward(inputsOf(node)[0], g)];

/**
 * The tanh-GELU gradient `g·gelu'(x)` as one kernel (x = GELU input), with
 * `gelu'(x) = ½(1 + t) + ½x(1 − t²)·u'`, `t = tanh(u)`, `u = c(x + 0.044715x³)`, `c = √(2/π)`:
 * composed, it took 15 elementwise passes and as many activation-sized buffers, 10-15% of a GPT
 * training step in a profile (BENCHMARKS.md, "lm"). Differentiable itself, for double backward:
 * ∂/∂g = gelu'(x) (the same kernel on the incoming gradient), ∂/∂x = g·gelu''(x) with
 * `gelu''(x) = (1 − t²)(u' + ½x(u'' − 2t·u'²))`.
 */
function geluTanhBackward(x: Tensor, g: Tensor): Tensor {
  return record(binaryForward("geluTanhBackward", x, g), [x, g], (gg) => [
    x.requiresGrad ? sumToShape(mul(mul(gg, g), geluTanhSecondDerivative(x)), x.shape) : null,
    g.requiresGrad ? sumToShape(geluTanhBackward(x, gg), g.shape) : null,
  ]);
}

/** gelu''(x) of the tanh form, from differentiable ops (see {@link geluTanhBackward}). */
function geluTanhSecondDerivative(x: Tensor): Tensor {
  const x2 = square(x);
  const t = tanh(mul(mul(x, add(mul(x2, 0.044715), 1)), GELU_C));
  const du = mul(add(mul(x2, 3 * 0.044715), 1), GELU_C);
  const ddu = mul(x, 6 * 0.044715 * GELU_C);
  const curvature = sub(ddu, mul(mul(t, square(du)), 2));
  return mul(sub(1, square(t)), add(du, mul(mul(x, 0.5), curvature)));
}

/** Clamp into `[min, max]` (either may be ±Infinity). Gradient passes where min <= x <= max. */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  if (min > max)
    throw new ProximalError("INVALID_ARGUMENT", `clamp: min (${min}) is greater than max (${max}).`);
  const out = floatOut(x.shape);
  getBackend().clamp(requireFloat(x, "clamp"), out, min, max);
  const y = new Tensor(out, x.shape);
  return recording(x) ? record(y, [x], clampRule(min, max)) : y;
}

function clampRule(min: number, max: number): GradientRule {
  return (g, node) => {
    const x = inputsOf(node)[0];
    const xd = x.values;
    const lo = Math.fround(min);
    const hi = Math.fround(max);
    const mask = allocFloat32(x.size);
    for (let i = 0; i < mask.length; i++) mask[i] = xd[i] >= lo && xd[i] <= hi ? 1 : 0;
    return [mul(g, constant(mask, x.shape))];
  };
}

// ============================================================================================
// reduce

function normalizeAxes(axis: number | number[] | undefined, rank: number, op: string): number[] {
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = (Array.isArray(axis) ? axis : [axis]).map((a) => normalizeAxis(a, rank, op));
  return [...new Set(list)].sort((p, q) => p - q);
}

function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reducedShape(shape: Shape, axes: number[], keepdims: boolean): number[] {
  return keepdims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/** Reduce the given sorted axes with one kernel call per contiguous run of axes. */
function reduceData(op: "sum" | "max", data: Float32Array, shape: Shape, axes: number[]): Float32Array {
  let current = data;
  let currentShape = shape.slice();
  // reduce from the last run to the first so earlier axis indices stay valid
  let i = axes.length - 1;
  while (i >= 0) {
    let start = axes[i];
    while (i > 0 && axes[i - 1] === start - 1) {
      i--;
      start = axes[i];
    }
    const end = axes[axes.indexOf(start) + countRun(axes, axes.indexOf(start)) - 1];
    const outer = sizeOf(currentShape.slice(0, start));
    const len = sizeOf(currentShape.slice(start, end + 1));
    const inner = sizeOf(currentShape.slice(end + 1));
    const out = allocFloat32(outer * inner);
    if (len === 0 && op === "max") {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `max over an empty axis of shape ${formatShape(shape)} has no value.`,
      );
    }
    getBackend().reduce(op, current, out, outer, len, inner);
    current = out;
    currentShape = [...currentShape.slice(0, start), ...currentShape.slice(end + 1)];
    i--;
  }
  return current;
}

function countRun(axes: number[], from: number): number {
  let n = 1;
  while (from + n < axes.length && axes[from + n] === axes[from] + n) n++;
  return n;
}

/** Sum over `axis` (all axes when omitted). d sum = broadcast(g) */
export function sum(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  const axes = normalizeAxes(axis, x.rank, "sum");
  const shape = reducedShape(x.shape, axes, keepdims);
  const data =
    axes.length === 0
      ? requireFloat(x, "sum").slice()
      : reduceData("sum", requireFloat(x, "sum"), x.shape, axes);
  const out = new Tensor(data, shape);
  return recording(x) ? record(out, [x], sumRule(axes)) : out;
}

function sumRule(axes: number[]): GradientRule {
  return (g, node) => {
    const x = inputsOf(node)[0];
    return [expand(reshape(g, keptShape(x.shape, axes)), x.shape)];
  };
}

/** Mean over `axis` (all axes when omitted). */
export function mean(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  const axes = normalizeAxes(axis, x.rank, "mean");
  let count = 1;
  for (const a of axes) count *= x.shape[a];
  return mul(sum(x, axes, keepdims), 1 / count);
}

/**
 * Maximum over `axis` (all axes when omitted), NaN propagating. The gradient is shared evenly
 * among tied maxima (torch.amax semantics).
 */
export function max(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  const axes = normalizeAxes(axis, x.rank, "max");
  const shape = reducedShape(x.shape, axes, keepdims);
  const data =
    axes.length === 0
      ? requireFloat(x, "max").slice()
      : reduceData("max", requireFloat(x, "max"), x.shape, axes);
  return record(new Tensor(data, shape), [x], (g, out) => {
    const kept = keptShape(x.shape, axes);
    const isMax = eq(x, reshape(out.detach(), kept));
    const count = sum(isMax, axes, true);
    return [mul(expand(reshape(g, kept), x.shape), div(isMax, count))];
  });
}

/** Minimum over `axis`: `-max(-x)`. */
export function min(x: Tensor, axis?: number | number[], keepdims = false): Tensor {
  return neg(max(neg(x), axis, keepdims));
}

/** `log Σ exp(x)` over `axis` (default last), computed stably. d lse = softmax(x) · g */
export function logsumexp(x: Tensor, axis = -1, keepdims = false): Tensor {
  const a = normalizeAxis(axis, x.rank, "logsumexp");
  if (a !== x.rank - 1) {
    const m = max(x, a, true).detach();
    const m2 = where(isFiniteMask(m), m, 0);
    const out = add(log(sum(exp(sub(x, m2)), a, true)), m2);
    return keepdims ? out : reshape(out, reducedShape(x.shape, [a], false));
  }
  const cols = x.shape[a];
  const rows = x.size / Math.max(cols, 1);
  const data = allocFloat32(rows);
  getBackend().logsumexpRows(requireFloat(x, "logsumexp"), data, rows, cols);
  const shape = reducedShape(x.shape, [a], keepdims);
  return record(new Tensor(data, shape), [x], (g, out) => {
    const kept = keptShape(x.shape, [a]);
    return [mul(expand(reshape(g, kept), x.shape), exp(sub(x, reshape(out, kept))))];
  });
}

function isFiniteMask(x: Tensor): Tensor {
  const out = floatOut(x.shape);
  for (let i = 0; i < out.length; i++) out[i] = Number.isFinite(x.data[i]) ? 1 : 0;
  return constant(out, x.shape);
}

/** Variance over `axis` with Bessel's `correction` (1 = unbiased, as torch.var's default). */
export function variance(x: Tensor, axis?: number | number[], keepdims = false, correction = 1): Tensor {
  const axes = normalizeAxes(axis, x.rank, "variance");
  let count = 1;
  for (const a of axes) count *= x.shape[a];
  const centered = sub(x, mean(x, axes, true));
  return div(sum(square(centered), axes, keepdims), Math.max(count - correction, 0));
}

// ============================================================================================
// movement

/** Same data, new shape (one size may be -1). Shares the data buffer; no copy. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const resolved = resolveShape(shape, x.size, x.shape);
  if (shapesEqual(resolved, x.shape)) return x;
  const out = new Tensor(x.data, resolved, x.dtype);
  return recording(x) ? record(out, [x], reshapeRule) : out;
}

const reshapeRule: GradientRule = (g, node) => [reshape(g, inputsOf(node)[0].shape)];

function resolveShape(shape: Shape, size: number, from: Shape): number[] {
  const out = shape.slice();
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = out.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    out[unknown] = known === 0 ? 0 : size / known;
  }
  if (sizeOf(out) !== size || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `Cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(shape)}.`,
    );
  }
  return out;
}

/** Insert a size-1 axis at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  const shape = x.shape.slice();
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Remove size-1 axes (all of them, or only `axis`). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normalizeAxis(axis, x.rank, "squeeze");
  if (x.shape[a] !== 1) return x;
  return reshape(
    x,
    x.shape.filter((_, i) => i !== a),
  );
}

/** Flatten axes from `startAxis` on into one. */
export function flatten(x: Tensor, startAxis = 0): Tensor {
  const a = normalizeAxis(startAxis, Math.max(x.rank, 1), "flatten");
  return reshape(x, [...x.shape.slice(0, a), sizeOf(x.shape.slice(a))]);
}

/** Reorder axes: output axis i is input axis `axes[i]`. The gradient is the inverse permutation. */
export function permute(x: Tensor, axes: number[]): Tensor {
  const rank = x.rank;
  const norm = axes.map((a) => normalizeAxis(a, rank, "permute"));
  if (norm.length !== rank || new Set(norm).size !== rank) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `permute: [${axes.join(", ")}] is not a permutation of ${rank} axes.`,
    );
  }
  if (norm.every((a, i) => a === i)) return x;
  const shape = norm.map((a) => x.shape[a]);
  const data = permuteData(x.data, x.shape, norm);
  const inverse = new Array<number>(rank);
  for (let i = 0; i < rank; i++) inverse[norm[i]] = i;
  return record(new Tensor(data, shape, x.dtype), [x], (g) => [permute(g, inverse)]);
}

/** Swap two axes (default: the last two). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  const axes = Array.from({ length: x.rank }, (_, i) => i);
  const a = normalizeAxis(axis0, x.rank, "transpose");
  const b = normalizeAxis(axis1, x.rank, "transpose");
  axes[a] = b;
  axes[b] = a;
  return permute(x, axes);
}

/**
 * `dst[dstOff + j] = src[srcOff + j]` for j < len. Runs of 32 or more use a typed-array `set` (a
 * memcpy; measured, an indexed loop costs 66 ns per 32 floats against 41, and 2.1 µs per 1024 against
 * 84 ns); shorter ones keep the loop, which beats `set`'s view allocation below that.
 */
function copyRun(
  src: Float32Array | Int32Array,
  srcOff: number,
  dst: Float32Array | Int32Array,
  dstOff: number,
  len: number,
): void {
  if (len >= 32) dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  else for (let j = 0; j < len; j++) dst[dstOff + j] = src[srcOff + j];
}

function permuteData<T extends Float32Array | Int32Array>(data: T, shape: Shape, axes: number[]): T {
  const rank = shape.length;
  const inStrides = stridesOf(shape);
  const outShape = axes.map((a) => shape[a]);
  const strides = axes.map((a) => inStrides[a]); // input stride for each output axis
  // every element is written below, so a pooled buffer need not be zeroed first
  const out = (
    data instanceof Float32Array
      ? allocFloat32ForOverwrite(data.length)
      : new (data.constructor as { new (n: number): T })(data.length)
  ) as T;
  const n = data.length;
  if (n === 0) return out;
  // iterate output in order with an odometer over output axes
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  const last = rank - 1;
  const lastSize = outShape[last];
  const lastStride = strides[last];
  // the last axis kept in place (attention's head split and merge, [B, T, H, D] <-> [B, H, T, D]):
  // rows of D contiguous in both, copied as runs
  for (let o = 0; o < n; o += lastSize) {
    if (lastStride === 1) copyRun(data, src, out, o, lastSize);
    else for (let j = 0; j < lastSize; j++) out[o + j] = data[src + j * lastStride];
    // advance the odometer on axes before the last
    for (let ax = last - 1; ax >= 0; ax--) {
      index[ax]++;
      src += strides[ax];
      if (index[ax] < outShape[ax]) break;
      src -= strides[ax] * index[ax];
      index[ax] = 0;
    }
  }
  return out;
}

/**
 * Broadcast `data` of shape `from` to shape `to` (NumPy rules), as a new contiguous array. The
 * trailing axes that are all kept (or all broadcast) form one block moved at a time, a copy of a
 * source run (or a fill with one source value); only the axes before it are walked index by index.
 * An index walk per element topped a C51 learner's profile (28%, taken under load; a [B, 1, atoms]
 * value stream broadcast over actions); quiet, the whole learner gained a few percent. The output is
 * the same copy either way.
 */
export function expandData<T extends Float32Array | Int32Array>(data: T, from: Shape, to: Shape): T {
  if (shapesEqual(from, to)) return data;
  const n = sizeOf(to);
  // every element is written below, so a pooled buffer need not be zeroed first
  const out = (
    data instanceof Float32Array
      ? allocFloat32ForOverwrite(n)
      : new (data.constructor as { new (n: number): T })(n)
  ) as T;
  if (data.length === 1) {
    out.fill(data[0]);
    return out;
  }
  const rank = to.length;
  const padded = [...new Array<number>(rank - from.length).fill(1), ...from];
  const inStrides = stridesOf(padded).map((s, i) => (padded[i] === 1 ? 0 : s));
  // the innermost block: trailing axes of one kind (size-1 axes on both sides join either kind)
  const broadcast = (ax: number) => padded[ax] === 1 && to[ax] !== 1;
  let fillBlock = false;
  for (let ax = rank - 1; ax >= 0; ax--) {
    if (to[ax] !== 1) {
      fillBlock = broadcast(ax);
      break;
    }
  }
  let outer = rank;
  let block = 1;
  while (outer > 0 && (to[outer - 1] === 1 || broadcast(outer - 1) === fillBlock)) {
    block *= to[--outer];
  }
  const index = new Array<number>(outer).fill(0);
  let src = 0;
  for (let o = 0; o < n; o += block) {
    if (fillBlock) out.fill(data[src], o, o + block);
    else copyRun(data, src, out, o, block);
    for (let ax = outer - 1; ax >= 0; ax--) {
      index[ax]++;
      src += inStrides[ax];
      if (index[ax] < to[ax]) break;
      src -= inStrides[ax] * index[ax];
      index[ax] = 0;
    }
  }
  return out;
}

/** Broadcast to `shape` (a copy). d expand = sum over the broadcast axes */
export function expand(x: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes(x.shape, shape, "expand");
  if (!shapesEqual(target, shape)) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `expand: cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}.`,
    );
  }
  if (shapesEqual(x.shape, shape)) return x;
  return record(new Tensor(expandData(x.data, x.shape, shape), shape, x.dtype), [x], (g) => [
    sumToShape(g, x.shape),
  ]);
}

/** Sum a broadcast gradient back down to `shape` (the adjoint of broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const rank = g.rank;
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  const axes: number[] = [];
  for (let i = 0; i < rank; i++) if (padded[i] === 1 && g.shape[i] !== 1) axes.push(i);
  const summed = axes.length > 0 ? sum(g, axes, true) : g;
  return reshape(summed, shape);
}

/**
 * Slice with per-axis `[start, end)` ranges (negative indices count from the end; missing axes are
 * taken whole). d slice = the gradient placed into zeros of the input shape.
 */
export function slice(x: Tensor, starts: number[], ends: number[]): Tensor {
  const rank = x.rank;
  const s = x.shape.map((d, i) => clampIndex(starts[i] ?? 0, d));
  const e = x.shape.map((d, i) => Math.max(s[i], clampIndex(ends[i] ?? d, d)));
  const shape = s.map((v, i) => e[i] - v);
  if (shapesEqual(shape, x.shape)) return x;
  const data = new (x.data.constructor as { new (n: number): Float32Array | Int32Array })(sizeOf(shape));
  copyBlock(x.data, x.shape, s, data, shape, [...new Array<number>(rank).fill(0)], shape, false);
  return record(new Tensor(data, shape, x.dtype), [x], (g) => [padInto(g, x.shape, s)]);
}

/** `slice` along one axis: elements `[start, start+length)`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis(axis, x.rank, "narrow");
  const starts = x.shape.map(() => 0);
  const ends = x.shape.slice();
  starts[a] = start;
  ends[a] = start + length;
  return slice(x, starts, ends);
}

function clampIndex(i: number, size: number): number {
  const v = i < 0 ? i + size : i;
  return Math.min(Math.max(v, 0), size);
}

/** Place `g` into zeros of `shape` at offset `starts`. Its gradient is the matching slice. */
function padInto(g: Tensor, shape: Shape, starts: number[]): Tensor {
  const data = allocFloat32(sizeOf(shape));
  copyBlock(g.values, g.shape, new Array<number>(g.rank).fill(0), data, shape, starts, g.shape, false);
  return record(new Tensor(data, shape), [g], (gg) => [
    slice(
      gg,
      starts,
      starts.map((v, i) => v + g.shape[i]),
    ),
  ]);
}

/** Copy (or add) a block of `size` from src at srcStart to dst at dstStart. */
function copyBlock(
  src: Float32Array | Int32Array,
  srcShape: Shape,
  srcStart: number[],
  dst: Float32Array | Int32Array,
  dstShape: Shape,
  dstStart: number[],
  size: Shape,
  addInto: boolean,
): void {
  const n = sizeOf(size);
  if (n === 0) return;
  const rank = size.length;
  if (rank === 0) {
    dst[0] = addInto ? dst[0] + src[0] : src[0];
    return;
  }
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  let srcOff = 0;
  let dstOff = 0;
  for (let i = 0; i < rank; i++) {
    srcOff += srcStart[i] * ss[i];
    dstOff += dstStart[i] * ds[i];
  }
  // trailing axes the block spans in full in both arrays are contiguous in both: copy them as one
  // row (a narrow of the middle axis of [4, 128, 4096] logits is 4 rows, not 508)
  let last = rank - 1;
  let rowLen = size[last];
  while (last > 0 && size[last] === srcShape[last] && size[last] === dstShape[last]) {
    last--;
    rowLen *= size[last];
  }
  const index = new Array<number>(rank).fill(0);
  for (let done = 0; done < n; done += rowLen) {
    if (addInto) for (let j = 0; j < rowLen; j++) dst[dstOff + j] += src[srcOff + j];
    // as runs: an indexed loop was 5-11% of a GPT training step in a profile (narrow and its gradient)
    else copyRun(src, srcOff, dst, dstOff, rowLen);
    for (let ax = last - 1; ax >= 0; ax--) {
      index[ax]++;
      srcOff += ss[ax];
      dstOff += ds[ax];
      if (index[ax] < size[ax]) break;
      srcOff -= ss[ax] * index[ax];
      dstOff -= ds[ax] * index[ax];
      index[ax] = 0;
    }
  }
}

/** Join tensors along an existing axis. The gradient is sliced back into the pieces. */
export function concat(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ProximalError("INVALID_ARGUMENT", "concat needs at least one tensor.");
  const first = tensors[0];
  const a = normalizeAxis(axis, first.rank, "concat");
  for (const t of tensors) {
    if (
      t.rank !== first.rank ||
      t.shape.some((d, i) => i !== a && d !== first.shape[i]) ||
      t.dtype !== first.dtype
    ) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `concat along axis ${axis}: shapes ${tensors.map((x) => formatShape(x.shape)).join(", ")} differ outside that axis (or dtypes differ).`,
      );
    }
  }
  const shape = first.shape.slice();
  shape[a] = tensors.reduce((s, t) => s + t.shape[a], 0);
  const data = new (first.data.constructor as { new (n: number): Float32Array | Int32Array })(sizeOf(shape));
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    offsets.push(offset);
    const start = new Array<number>(shape.length).fill(0);
    start[a] = offset;
    copyBlock(t.data, t.shape, new Array<number>(t.rank).fill(0), data, shape, start, t.shape, false);
    offset += t.shape[a];
  }
  return record(new Tensor(data, shape, first.dtype), tensors, (g) =>
    tensors.map((t, i) => (t.requiresGrad ? narrow(g, a, offsets[i], t.shape[a]) : null)),
  );
}

/** Join tensors of the same shape along a new axis. */
export function stack(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ProximalError("INVALID_ARGUMENT", "stack needs at least one tensor.");
  const a = axis < 0 ? axis + tensors[0].rank + 1 : axis;
  return concat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

function checkIndices(index: Tensor, limit: number, op: string): Int32Array {
  if (!(index.data instanceof Int32Array)) {
    throw new ProximalError("DTYPE_MISMATCH", `${op}: indices must be an int32 tensor, got ${index.dtype}.`);
  }
  const d = index.data;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= limit) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `${op}: index ${d[i]} at position ${i} is out of range [0, ${limit}).`,
      );
    }
  }
  return d;
}

/**
 * Rows of `weight` picked by integer `indices` (embedding lookup, torch.index_select on axis 0):
 * output shape is `[...indices.shape, ...weight.shape.slice(1)]`. The gradient scatter-adds rows.
 */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  const rows = weight.shape[0];
  const width = weight.size / Math.max(rows, 1);
  const ids = checkIndices(indices, rows, "embedding");
  const w = requireFloat(weight, "embedding");
  const out = allocFloat32(ids.length * width);
  for (let i = 0; i < ids.length; i++) out.set(w.subarray(ids[i] * width, ids[i] * width + width), i * width);
  const shape = [...indices.shape, ...weight.shape.slice(1)];
  return record(new Tensor(out, shape), [weight], (g) => [scatterRows(g, indices, weight.shape)]);
}

/** Adjoint of {@link embedding}: add the rows of `g` into zeros of `shape` at `indices`. */
function scatterRows(g: Tensor, indices: Tensor, shape: Shape): Tensor {
  const rows = shape[0];
  const width = sizeOf(shape) / Math.max(rows, 1);
  const ids = indices.data as Int32Array;
  const gd = g.values;
  const out = allocFloat32(sizeOf(shape));
  for (let i = 0; i < ids.length; i++) {
    const dst = ids[i] * width;
    const src = i * width;
    for (let j = 0; j < width; j++) out[dst + j] += gd[src + j];
  }
  return record(new Tensor(out, shape), [g], (gg) => [reshape(embedding(gg, indices), g.shape)]);
}

/**
 * torch.gather: `out[..., i, ...] = x[..., index[..., i, ...], ...]` along `axis`; `index` has the
 * rank of `x` and sizes no larger on the other axes. The gradient scatter-adds back.
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normalizeAxis(axis, x.rank, "gather");
  if (index.rank !== x.rank) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `gather: index rank ${index.rank} must equal input rank ${x.rank} (index ${formatShape(index.shape)}, input ${formatShape(x.shape)}).`,
    );
  }
  const ids = checkIndices(index, x.shape[a], "gather");
  const xd = requireFloat(x, "gather");
  const out = allocFloat32(index.size);
  const map = gatherMap(x.shape, index.shape, a, ids);
  for (let i = 0; i < out.length; i++) out[i] = xd[map[i]];
  const y = new Tensor(out, index.shape);
  return recording(x) ? record(y, [x], gatherRule(map, index)) : y;
}

function gatherRule(map: Int32Array, index: Tensor): GradientRule {
  return (g, node) => [scatterAdd(g, map, inputsOf(node)[0].shape, index)];
}

/** For each index element, the flat offset into x it reads. */
function gatherMap(xShape: Shape, indexShape: Shape, axis: number, ids: Int32Array): Int32Array {
  const xs = stridesOf(xShape);
  const is = stridesOf(indexShape);
  const map = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    let rem = i;
    let off = 0;
    for (let d = 0; d < indexShape.length; d++) {
      const c = Math.floor(rem / is[d]);
      rem -= c * is[d];
      off += (d === axis ? ids[i] : c) * xs[d];
    }
    map[i] = off;
  }
  return map;
}

function scatterAdd(g: Tensor, map: Int32Array, shape: Shape, index: Tensor): Tensor {
  const out = allocFloat32(sizeOf(shape));
  const gd = g.values;
  for (let i = 0; i < map.length; i++) out[map[i]] += gd[i];
  return record(new Tensor(out, shape), [g], (gg) => {
    const ggd = gg.values;
    const picked = allocFloat32(map.length);
    for (let i = 0; i < map.length; i++) picked[i] = ggd[map[i]];
    return [reshape(constantOrRecorded(picked, index.shape, gg, map), g.shape)];
  });
}

// the gradient of scatterAdd is a gather with the same map; keep it differentiable
function constantOrRecorded(picked: Float32Array, shape: Shape, source: Tensor, map: Int32Array): Tensor {
  return record(new Tensor(picked, shape), [source], (g) => [
    scatterAdd(g, map, source.shape, new Tensor(new Int32Array(map.length), shape)),
  ]);
}

/** Pick one element per row along the last axis: `out[..., 0] = x[..., index[...]]`. */
export function takeAlongLastAxis(x: Tensor, index: Tensor): Tensor {
  const idx = reshape(index, [...index.shape, 1]);
  return reshape(gather(x, -1, idx), index.shape);
}

/** One-hot float rows for integer `indices` (no gradient). */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  const ids = checkIndices(indices, numClasses, "oneHot");
  const out = allocFloat32(ids.length * numClasses);
  for (let i = 0; i < ids.length; i++) out[i * numClasses + ids[i]] = 1;
  return new Tensor(out, [...indices.shape, numClasses]);
}

// ============================================================================================
// nn: softmax family, losses, layer norm, attention

/** Softmax over `axis` (default last), stable. d softmax = y ⊙ (g - Σ g⊙y) */
export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis(axis, x.rank, "softmax");
  if (a !== x.rank - 1) return transpose(softmax(transpose(x, a, -1), -1), a, -1);
  const cols = x.shape[a];
  const out = floatOut(x.shape);
  getBackend().softmaxRows(requireFloat(x, "softmax"), out, x.size / Math.max(cols, 1), cols, false);
  const y = new Tensor(out, x.shape);
  return recording(x) ? record(y, [x], softmaxRule) : y;
}

const softmaxRule: GradientRule = (g, y) => [mul(y, sub(g, sum(mul(g, y), -1, true)))];

/** Log-softmax over `axis` (default last), stable. d logsoftmax = g - softmax(x) Σ g */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normalizeAxis(axis, x.rank, "logSoftmax");
  if (a !== x.rank - 1) return transpose(logSoftmax(transpose(x, a, -1), -1), a, -1);
  const cols = x.shape[a];
  const out = floatOut(x.shape);
  getBackend().softmaxRows(requireFloat(x, "logSoftmax"), out, x.size / Math.max(cols, 1), cols, true);
  const y = new Tensor(out, x.shape);
  return recording(x) ? record(y, [x], logSoftmaxRule) : y;
}

const logSoftmaxRule: GradientRule = (g, y) => [sub(g, mul(exp(y), sum(g, -1, true)))];

/**
 * `log softmax(x)[..., index]`: the log-probability of one class per row, `x[i] − logsumexp(x)`,
 * for logits `x` [..., C] and int32 `index` [...] (TRL's `selective_log_softmax`). The same values
 * as `takeAlongLastAxis(logSoftmax(x), index)` without the [..., C] log-softmax: an LM's logits are
 * vocabulary-wide, and that tensor, its gradient and the composed rule's passes over them were 10%
 * of a GPT training step in a profile. The gradient `g·(onehot(index) − softmax(x))` is one softmax
 * pass written into the gradient buffer; under `createGraph` it is built from differentiable ops.
 */
export function logSoftmaxAt(x: Tensor, index: Tensor): Tensor {
  const cols = x.shape[x.rank - 1];
  if (x.rank < 1 || !shapesEqual(index.shape, x.shape.slice(0, -1))) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `logSoftmaxAt: index ${formatShape(index.shape)} must be the logits' shape without its last axis (logits ${formatShape(x.shape)}).`,
    );
  }
  const ids = checkIndices(index, cols, "logSoftmaxAt");
  const rows = index.size;
  const data = requireFloat(x, "logSoftmaxAt");
  const lse = allocFloat32(rows);
  getBackend().logsumexpRows(data, lse, rows, cols);
  const out = allocFloat32(rows);
  for (let r = 0; r < rows; r++) out[r] = data[r * cols + ids[r]] - lse[r];
  const y = new Tensor(out, index.shape);
  if (!recording(x)) return y;
  return record(y, [x], (g) => {
    if (isGradEnabled()) {
      // createGraph: the composed rule, differentiable again
      return [mul(sub(oneHot(index, cols), softmax(x)), unsqueeze(g, -1))];
    }
    const grad = allocFloat32ForOverwrite(x.size);
    getBackend().softmaxRows(data, grad, rows, cols, false);
    const scale = allocFloat32(rows);
    for (let r = 0; r < rows; r++) scale[r] = -g.values[r];
    // row r times −g[r] (a column broadcast), in place
    getBackend().binary("mul", grad, scale, grad, rows, cols, cols, 1, 1, 0);
    for (let r = 0; r < rows; r++) grad[r * cols + ids[r]] += g.values[r];
    return [new Tensor(grad, x.shape)];
  });
}

/**
 * Mean cross-entropy of `logits` [..., C] against int32 `targets` [...]: `-mean(log softmax[target])`.
 * With `mask` (same shape as targets, 1 = count, 0 = ignore), the mean runs over masked entries only;
 * an all-zero mask gives 0 rather than NaN.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: { mask?: Tensor } = {}): Tensor {
  const logp = logSoftmaxAt(logits, targets);
  if (options.mask === undefined) return neg(mean(logp));
  const mask = options.mask;
  if (mask.size !== targets.size) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `crossEntropy: mask ${formatShape(mask.shape)} must match targets ${formatShape(targets.shape)}.`,
    );
  }
  const m = reshape(mask, targets.shape);
  const count = Math.max(sum(m).item(), 1);
  return neg(div(sum(mul(logp, m)), count));
}

/**
 * Layer norm over the last axis (Ba et al. 2016, arXiv:1607.06450): `(x - mean)/sqrt(var + eps)·γ + β`
 * with the biased variance, as torch.nn.LayerNorm. The backward pass is one fused kernel
 * (first-order only: differentiating it again is not supported).
 */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const cols = x.shape[x.rank - 1];
  if (gamma.size !== cols || beta.size !== cols) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `layerNorm: gamma ${formatShape(gamma.shape)} and beta ${formatShape(beta.shape)} must have the last size of x ${formatShape(x.shape)}.`,
    );
  }
  const rows = x.size / Math.max(cols, 1);
  const out = floatOut(x.shape);
  const meanData = allocFloat32(rows);
  const rstd = allocFloat32(rows);
  getBackend().layerNormRows(
    requireFloat(x, "layerNorm"),
    gamma.values,
    beta.values,
    out,
    meanData,
    rstd,
    rows,
    cols,
    eps,
  );
  return record(new Tensor(out, x.shape), [x, gamma, beta], (g) => {
    if (isGradEnabled()) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        "layerNorm does not support double backward (createGraph through a layer norm). Use it in first-order training only.",
      );
    }
    const dx = floatOut(x.shape);
    const dgamma = allocFloat32(cols);
    const dbeta = allocFloat32(cols);
    getBackend().layerNormBackwardRows(
      x.values,
      gamma.values,
      meanData,
      rstd,
      g.values,
      dx,
      dgamma,
      dbeta,
      rows,
      cols,
    );
    return [new Tensor(dx, x.shape), new Tensor(dgamma, gamma.shape), new Tensor(dbeta, beta.shape)];
  });
}

const causalMasks = new Map<string, Tensor>();

/** Additive causal mask [t, s]: 0 where key j <= query i + (s - t), -Infinity above (cached). */
export function causalMask(t: number, s = t): Tensor {
  const key = `${t}x${s}`;
  let m = causalMasks.get(key);
  if (m === undefined) {
    // its own buffer, never scoped storage: the cache outlives any training step that first asks
    const data = new Float32Array(t * s);
    for (let i = 0; i < t; i++)
      for (let j = 0; j < s; j++) data[i * s + j] = j <= i + (s - t) ? 0 : Number.NEGATIVE_INFINITY;
    m = new Tensor(data, [t, s]);
    causalMasks.set(key, m);
  }
  return m;
}

/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1): `softmax(q kᵀ/√d + mask) v` for
 * q [..., T, d], k and v [..., S, d]. `causal` masks keys after each query (aligned at the end, so a
 * KV cache with S > T works); `mask` is an extra additive mask broadcast to [..., T, S].
 *
 * When no input records a gradient and the shapes allow it (rank 4, no mask or a per-key padding mask
 * [B, 1, 1, S]), it runs as {@link fusedAttention}: one backend call, no score matrix. Otherwise it is
 * composed of differentiable ops (matmul, softmax, matmul), whose gradient rules give the backward.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: { causal?: boolean; mask?: Tensor } = {},
): Tensor {
  if (fusable(q, k, v, options.mask)) return fusedAttention(q, k, v, options);
  if (trainable(q, k, v, options.mask)) return trainingAttention(q, k, v, options);
  return matmul(attentionProbabilities(q, k, options.causal ?? false, options.mask), v);
}

/** `softmax(q kᵀ/√d + causal mask + mask)` from differentiable ops: the composed attention's weights. */
function attentionProbabilities(q: Tensor, k: Tensor, causal: boolean, mask: Tensor | undefined): Tensor {
  let scores = mul(matmulT(q, k, false, true), 1 / Math.sqrt(q.shape[q.rank - 1]));
  if (causal) scores = add(scores, causalMask(q.shape[q.rank - 2], k.shape[k.rank - 2]));
  if (mask !== undefined) scores = add(scores, mask);
  return softmax(scores, -1);
}

/** Whether {@link scaledDotProductAttention} can run as {@link fusedAttention} (same result, no tape). */
function fusable(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined): boolean {
  if (recording(q, k, v) || (mask !== undefined && recording(mask))) return false;
  return fusableShapes(q, k, v, mask);
}

/**
 * Whether a recording {@link scaledDotProductAttention} can run fused, forward and backward
 * ({@link trainingAttention}): the shapes {@link fusedAttention} takes, a mask that records no
 * gradient, and a backend with {@link Backend.attentionBackward} (cpu and native; wasm composes).
 */
function trainable(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined): boolean {
  if (mask !== undefined && recording(mask)) return false;
  return getBackend().attentionBackward !== undefined && fusableShapes(q, k, v, mask);
}

function fusableShapes(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined): boolean {
  if (q.rank !== 4 || k.rank !== 4 || !shapesEqual(k.shape, v.shape)) return false;
  if (q.shape[0] !== k.shape[0] || q.shape[1] !== k.shape[1] || q.shape[3] !== k.shape[3]) return false;
  if ([q, k, v].some((t) => t.dtype !== "float32")) return false;
  if (mask === undefined) return true;
  const m = mask.shape;
  return (
    mask.dtype === "float32" &&
    mask.rank === 4 &&
    m[0] === q.shape[0] &&
    m[1] === 1 &&
    m[2] === 1 &&
    m[3] === k.shape[2]
  );
}

/**
 * {@link scaledDotProductAttention} for training, fused both ways: the forward pass is
 * {@link fusedAttention}'s one call, and the gradient is {@link Backend.attentionBackward}'s one call,
 * which recomputes each row's softmax instead of keeping a [T, S] probability matrix per head.
 * Under `backward({ createGraph: true })` the gradient is built from differentiable ops
 * ({@link composedAttentionGradients}), so it can be differentiated again.
 */
function trainingAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: { causal?: boolean; mask?: Tensor },
): Tensor {
  const causal = options.causal ?? false;
  const mask = options.mask;
  const out = noGrad(() => fusedAttention(q, k, v, { causal, mask }));
  return record(out, [q, k, v], (g) => {
    const backend = getBackend();
    // createGraph, or a backward pass on another backend than the forward's (withBackend): same values
    if (isGradEnabled() || backend.attentionBackward === undefined) {
      return composedAttentionGradients(q, k, v, mask, causal, g);
    }
    const [batch, heads, queries, headDim] = q.shape;
    const [, kvHeads, keys] = k.shape;
    const dq = floatOut(q.shape);
    const dk = floatOut(k.shape);
    const dv = floatOut(v.shape);
    backend.attentionBackward(
      q.values,
      k.values,
      v.values,
      mask === undefined ? null : requireFloat(mask, "scaledDotProductAttention"),
      requireFloat(g, "scaledDotProductAttention"),
      dq,
      dk,
      dv,
      batch,
      heads,
      kvHeads,
      queries,
      keys,
      headDim,
      causal,
    );
    return [
      q.requiresGrad ? new Tensor(dq, q.shape) : null,
      k.requiresGrad ? new Tensor(dk, k.shape) : null,
      v.requiresGrad ? new Tensor(dv, v.shape) : null,
    ];
  });
}

/**
 * The gradients of attention with respect to q, k and v from the output's gradient `g`, as
 * differentiable ops (the softmax recomputed): `P = softmax(q kᵀ/√d + masks)`, `dv = Pᵀ g`,
 * `dP = g vᵀ`, `dS = P ⊙ (dP − Σ_j dP ⊙ P)`, `dq = dS k/√d`, `dk = dSᵀ q/√d`.
 */
function composedAttentionGradients(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: Tensor | undefined,
  causal: boolean,
  g: Tensor,
): (Tensor | null)[] {
  const scale = 1 / Math.sqrt(q.shape[3]);
  const p = attentionProbabilities(q, k, causal, mask);
  const dp = matmulT(g, v, false, true);
  const ds = mul(p, sub(dp, sum(mul(dp, p), -1, true)));
  return [
    q.requiresGrad ? mul(matmul(ds, k), scale) : null,
    k.requiresGrad ? mul(matmulT(ds, q, true, false), scale) : null,
    v.requiresGrad ? matmulT(p, g, true, false) : null,
  ];
}

/**
 * Scaled dot-product attention (Vaswani et al. 2017, eq. 1) in one backend call
 * ({@link Backend.attention}): scores, causal mask, softmax and the weighted sum of values per query
 * row, without a [T, S] score matrix in memory, reading keys and values in place from a preallocated
 * KV cache. For inference: it records no gradient (training uses {@link scaledDotProductAttention}'s
 * composed ops, whose rules give the backward) and throws when an input requires one.
 *
 * q [B, H, T, d]; k and v [B, Hkv, capacity, d], of which the first `length` positions (default: all)
 * are the keys; H a multiple of Hkv, query head h reading key/value head ⌊h / (H/Hkv)⌋ (grouped-query
 * attention, Ainslie et al. 2023, §2.2, without repeating k and v). `causal` aligns queries to the
 * end of the keys; `mask` is an additive per-key mask [B, 1, 1, length] (HF's padding mask).
 * Returns [B, H, T, d].
 */
export function fusedAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: { length?: number; causal?: boolean; mask?: Tensor } = {},
): Tensor {
  const fail = (message: string): never => {
    throw new ProximalError("SHAPE_MISMATCH", `fusedAttention: ${message}`);
  };
  if (recording(q, k, v) || (options.mask !== undefined && recording(options.mask))) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "fusedAttention records no gradient, but an input requires one. Use scaledDotProductAttention for training, or run under noGrad().",
    );
  }
  if (q.rank !== 4 || k.rank !== 4 || !shapesEqual(k.shape, v.shape)) {
    fail(
      `q must be [B, H, T, d] and k, v both [B, Hkv, capacity, d], got ${formatShape(q.shape)}, ${formatShape(k.shape)} and ${formatShape(v.shape)}.`,
    );
  }
  const [batch, heads, queries, headDim] = q.shape;
  const [kBatch, kvHeads, capacity, kDim] = k.shape;
  if (kBatch !== batch || kDim !== headDim || heads % kvHeads !== 0) {
    fail(
      `k and v ${formatShape(k.shape)} must share q's batch and head size ${formatShape(q.shape)}, with a number of heads that divides q's.`,
    );
  }
  const length = options.length ?? capacity;
  if (!Number.isInteger(length) || length < 0 || length > capacity) {
    fail(`length must be an integer from 0 to the keys' capacity ${capacity}, got ${length}.`);
  }
  const mask = options.mask;
  if (mask !== undefined) {
    const m = mask.shape;
    if (mask.rank !== 4 || m[0] !== batch || m[1] !== 1 || m[2] !== 1 || m[3] !== length) {
      fail(`mask must be an additive per-key mask [${batch}, 1, 1, ${length}], got ${formatShape(m)}.`);
    }
  }
  const out = floatOut(q.shape);
  getBackend().attention(
    requireFloat(q, "fusedAttention"),
    requireFloat(k, "fusedAttention"),
    requireFloat(v, "fusedAttention"),
    mask === undefined ? null : requireFloat(mask, "fusedAttention"),
    out,
    batch,
    heads,
    kvHeads,
    queries,
    length,
    headDim,
    capacity,
    options.causal ?? false,
  );
  return new Tensor(out, q.shape);
}

// ============================================================================================
// matmul

/** Matrix product with broadcasting of a 2-D operand over the other's batch axes. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return matmulT(a, b, false, false);
}

/**
 * `op(a) · op(b)` where op transposes the last two axes when its flag is set; no transposed copy
 * is made in the frontend. Batch axes must match, or one operand is 2-D and shared.
 * Gradients (for C = A·B): dA = G·Bᵀ, dB = Aᵀ·G; the transposed variants follow by symmetry.
 */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  if (a.rank < 2 || b.rank < 2) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `matmul needs operands of rank >= 2, got ${formatShape(a.shape)} and ${formatShape(b.shape)}. Reshape vectors to [1, n] or [n, 1].`,
    );
  }
  const m = transA ? a.shape[a.rank - 1] : a.shape[a.rank - 2];
  const k = transA ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
  const kb = transB ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  const n = transB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  if (k !== kb) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `matmul: inner sizes differ: ${formatShape(a.shape)}${transA ? "ᵀ" : ""} · ${formatShape(b.shape)}${transB ? "ᵀ" : ""} (${k} vs ${kb}).`,
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let batchShape: number[];
  if (aBatch.length === 0) batchShape = bBatch;
  else if (bBatch.length === 0 || shapesEqual(aBatch, bBatch)) batchShape = aBatch;
  else {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `matmul: batch axes ${formatShape(aBatch)} and ${formatShape(bBatch)} differ; they must match or one operand must be 2-D.`,
    );
  }
  const batch = sizeOf(batchShape);
  const shape = [...batchShape, m, n];
  const out = floatOut(shape);
  getBackend().matmul(
    requireFloat(a, "matmul"),
    requireFloat(b, "matmul"),
    out,
    batch,
    m,
    k,
    n,
    transA,
    transB,
    aBatch.length === 0 ? 0 : m * k,
    bBatch.length === 0 ? 0 : k * n,
    false,
  );
  return record(new Tensor(out, shape), [a, b], (g) => {
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      // C = op(A)·op(B): dA = G·op(B)ᵀ (stored transposed when transA)
      da = transA ? matmulT(b, g, transB, true) : matmulT(g, b, false, !transB);
      da = reduceBatch(da, a.shape);
    }
    if (b.requiresGrad) {
      db = transB ? matmulT(g, a, true, transA) : matmulT(a, g, !transA, false);
      db = reduceBatch(db, b.shape);
    }
    return [da, db];
  });
}

// a 2-D operand shared across batches receives the sum of its per-batch gradients
function reduceBatch(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length) return g;
  const lead = Array.from({ length: g.rank - shape.length }, (_, i) => i);
  return sum(g, lead);
}

/** Check a linear layer's operands; returns [outFeatures, inFeatures]. */
function checkLinear(x: Tensor, weight: Tensor, bias: Tensor | null): [number, number] {
  const inFeatures = weight.shape[1];
  const outFeatures = weight.shape[0];
  if (weight.rank !== 2 || x.shape[x.rank - 1] !== inFeatures) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `linear: input ${formatShape(x.shape)} has last size ${x.shape[x.rank - 1]} but the weight ${formatShape(weight.shape)} expects ${inFeatures}.`,
    );
  }
  if (bias && bias.size !== outFeatures) {
    throw new ProximalError(
      "SHAPE_MISMATCH",
      `linear: bias ${formatShape(bias.shape)} must have ${outFeatures} elements to match the weight ${formatShape(weight.shape)}.`,
    );
  }
  return [outFeatures, inFeatures];
}

/**
 * Affine map `x · Wᵀ + b` with PyTorch's weight layout `W: [out, in]`, for x of shape [..., in],
 * as one fused kernel. Gradients: dx = g·W, dW = gᵀ·x, db = Σ_rows g.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const [outFeatures, inFeatures] = checkLinear(x, weight, bias ?? null);
  const rows = x.size / Math.max(inFeatures, 1);
  const shape = x.rank === 2 ? [x.shape[0], outFeatures] : [...x.shape.slice(0, -1), outFeatures];
  const out = floatOut(shape);
  const backend = getBackend();
  const xs = requireFloat(x, "linear");
  const ws = requireFloat(weight, "linear");
  const packed = packedWeightFor(weight, rows, backend);
  if (packed !== null) {
    backend.linearPacked!(
      xs,
      ws,
      packed,
      bias ? bias.values : null,
      out,
      rows,
      inFeatures,
      outFeatures,
      null,
    );
  } else {
    backend.linear(xs, ws, bias ? bias.values : null, out, rows, inFeatures, outFeatures);
  }
  const y = new Tensor(out, shape);
  if (!recording(x, weight, bias)) return y;
  return record(y, bias ? [x, weight, bias] : [x, weight], linearRule);
}

function linearRule(g: Tensor, node: Tensor): (Tensor | null)[] {
  // first-order: the backend's one call (its matmuls and sum, the same bits as linearGradients')
  if (!isGradEnabled()) return linearActGradients(g, node, null);
  const [x, weight, bias] = inputsOf(node);
  return linearGradients(x, weight, bias ?? null, g);
}

/** The gradients of `x · Wᵀ + b` from the output's gradient `g`: dx = g·W, dW = gᵀ·x, db = Σ_rows g. */
function linearGradients(x: Tensor, weight: Tensor, bias: Tensor | null, g: Tensor): (Tensor | null)[] {
  const [outFeatures, inFeatures] = weight.shape;
  const rows = x.size / Math.max(inFeatures, 1);
  const g2 = reshape(g, [rows, outFeatures]);
  const x2 = reshape(x, [rows, inFeatures]);
  return [
    x.requiresGrad ? reshape(matmulT(g2, weight, false, false), x.shape) : null,
    weight.requiresGrad ? matmulT(g2, x2, true, false) : null,
    bias?.requiresGrad ? reshape(sum(g2, 0), bias.shape) : null,
  ];
}

/**
 * `act(x · Wᵀ + b)` for act relu or tanh: {@link linear} and the activation in one kernel, and in
 * the backward pass the activation's gradient and the three products in one more (where the unfused
 * ops take six calls and three intermediate tensors). Same values, bit for bit, as
 * `relu(linear(x, W, b))` / `tanh(linear(x, W, b))`: the kernels do the same operations in the same
 * order. Relu's gradient is taken from the output (`y <= 0` exactly where the input was `<= 0`), so
 * the pre-activation tensor is never kept. Under `backward({ createGraph: true })` the gradient is
 * built from the differentiable unfused rules instead, so it can be differentiated again.
 */
export function linearAct(x: Tensor, weight: Tensor, bias: Tensor | null, act: FusedActivation): Tensor {
  const [outFeatures, inFeatures] = checkLinear(x, weight, bias);
  const rows = x.size / Math.max(inFeatures, 1);
  const shape = x.rank === 2 ? [x.shape[0], outFeatures] : [...x.shape.slice(0, -1), outFeatures];
  const out = floatOut(shape);
  const backend = getBackend();
  const xs = requireFloat(x, "linearAct");
  const ws = requireFloat(weight, "linearAct");
  const packed = packedWeightFor(weight, rows, backend);
  if (packed !== null) {
    backend.linearPacked!(xs, ws, packed, bias ? bias.values : null, out, rows, inFeatures, outFeatures, act);
  } else {
    backend.linearAct(xs, ws, bias ? bias.values : null, out, rows, inFeatures, outFeatures, act);
  }
  const y = new Tensor(out, shape);
  if (!recording(x, weight, bias)) return y;
  return record(y, bias ? [x, weight, bias] : [x, weight], act === "relu" ? linearReluRule : linearTanhRule);
}

const linearReluRule: GradientRule = (g, node) => linearActGradients(g, node, "relu");
const linearTanhRule: GradientRule = (g, node) => linearActGradients(g, node, "tanh");

function linearActGradients(g: Tensor, output: Tensor, act: FusedActivation | null): (Tensor | null)[] {
  const [x, weight, bias = null] = inputsOf(output);
  if (isGradEnabled()) {
    // createGraph: differentiable rules, as the unfused ops would record them
    const dz = act === null ? g : act === "relu" ? reluBackward(output, g) : tanhBackward(output, g);
    return linearGradients(x, weight, bias, dz);
  }
  const [outFeatures, inFeatures] = weight.shape;
  const rows = x.size / Math.max(inFeatures, 1);
  const dx = x.requiresGrad ? floatOut(x.shape) : null;
  const dw = weight.requiresGrad ? floatOut(weight.shape) : null;
  const db = bias?.requiresGrad ? floatOut(bias.shape) : null;
  getBackend().linearActBackward(
    requireFloat(x, "linearAct"),
    weight.values,
    output.values,
    requireFloat(g, "linearAct"),
    dx,
    dw,
    db,
    rows,
    inFeatures,
    outFeatures,
    act,
  );
  return [
    dx && new Tensor(dx, x.shape),
    dw && new Tensor(dw, weight.shape),
    ...(bias ? [db && new Tensor(db, bias.shape)] : []),
  ];
}
