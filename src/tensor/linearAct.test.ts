import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MLP } from "../nn/mlp.js";
import { Rng } from "../random/rng.js";
import type { FusedActivation } from "./backend.js";
import * as ops from "./ops.js";
import type { Tensor } from "./tensor.js";
import { availableBackends, grad, noGrad, tensor, withBackend } from "./tensor.js";
import { randomNormal } from "./testing.js";

// The fused linear + activation op must give the unfused ops' results bit for bit, forward and
// backward, on every backend: the learning figures in BENCHMARKS.md are per seed and bit-exact resume
// is tested. Shapes cover one and two rows (the native dot-product path, the wasm row-dot kernel),
// sizes on both sides of the wasm backend's TypeScript cutoffs (32 and 512 elements), 3-D inputs,
// and a product big enough for the native thread pool (2^24 multiply-adds).

const SHAPES: [rows: number, inFeatures: number, outFeatures: number][] = [
  [1, 4, 3],
  [2, 8, 64],
  [7, 5, 9],
  [64, 17, 33],
  [300, 64, 64],
  [256, 256, 256],
];

function activate(act: FusedActivation, x: Tensor): Tensor {
  return act === "relu" ? ops.relu(x) : ops.tanh(x);
}

function run(
  fused: boolean,
  act: FusedActivation,
  x0: Float32Array,
  w0: Float32Array,
  b0: Float32Array | null,
  shape: number[],
  out: number,
  inputGrad: boolean,
): Float32Array[] {
  const inFeatures = shape[shape.length - 1];
  const x = tensor(x0.slice(), shape, { requiresGrad: inputGrad });
  const w = tensor(w0.slice(), [out, inFeatures], { requiresGrad: true });
  const b = b0 === null ? null : tensor(b0.slice(), [out], { requiresGrad: true });
  const y = fused ? ops.linearAct(x, w, b, act) : activate(act, ops.linear(x, w, b));
  // a loss whose gradient differs per element, so every dz entry matters
  const weights = tensor(randomNormal(new Rng(99), y.size), y.shape);
  const leaves = [w, ...(b === null ? [] : [b]), ...(inputGrad ? [x] : [])];
  const grads = grad(ops.sum(ops.mul(y, weights)), leaves);
  return [y.values, ...grads.map((g: Tensor) => g.values)];
}

for (const backend of availableBackends()) {
  describe(`linearAct on ${backend}: the unfused ops' bits`, () => {
    for (const act of ["relu", "tanh"] as const) {
      for (const [rows, inFeatures, outFeatures] of SHAPES) {
        test(`${act}, ${rows}x${inFeatures} -> ${outFeatures}: output and every gradient`, () => {
          withBackend(backend, () => {
            const rng = new Rng(rows * 7 + inFeatures);
            const x = randomNormal(rng, rows * inFeatures);
            const w = randomNormal(rng, outFeatures * inFeatures, 1 / Math.sqrt(inFeatures));
            const b = randomNormal(rng, outFeatures, 0.5);
            for (const [bias, inputGrad] of [
              [b, true],
              [null, false],
            ] as const) {
              const fused = run(true, act, x, w, bias, [rows, inFeatures], outFeatures, inputGrad);
              const unfused = run(false, act, x, w, bias, [rows, inFeatures], outFeatures, inputGrad);
              assert.equal(fused.length, unfused.length);
              for (let i = 0; i < fused.length; i++) {
                assert.deepEqual(fused[i], unfused[i], `array ${i} (bias ${bias !== null})`);
              }
            }
          });
        });
      }
      test(`${act} on a 3-D input`, () => {
        withBackend(backend, () => {
          const rng = new Rng(5);
          const x = randomNormal(rng, 2 * 3 * 6);
          const w = randomNormal(rng, 4 * 6);
          const b = randomNormal(rng, 4);
          const fused = run(true, act, x, w, b, [2, 3, 6], 4, true);
          const unfused = run(false, act, x, w, b, [2, 3, 6], 4, true);
          for (let i = 0; i < fused.length; i++) assert.deepEqual(fused[i], unfused[i], `array ${i}`);
        });
      });
    }

    test("linear's first-order gradients (one backend call) equal its composed ones (two matmuls and a sum)", () => {
      // a createGraph pass runs linear's rule as differentiable matmul and sum ops; a plain backward
      // pass runs the backend's linearActBackward without activation: the same kernels, so the same bits
      withBackend(backend, () => {
        for (const [rows, inFeatures, outFeatures] of [
          ...SHAPES,
          [256, 64, 2] as const,
          [256, 64, 1] as const,
        ]) {
          const rng = new Rng(rows + 3 * inFeatures + outFeatures);
          const x0 = randomNormal(rng, rows * inFeatures);
          const w0 = randomNormal(rng, outFeatures * inFeatures, 1 / Math.sqrt(inFeatures));
          const b0 = randomNormal(rng, outFeatures, 0.5);
          const weights = tensor(randomNormal(rng, rows * outFeatures), [rows, outFeatures]);
          const gradients = (createGraph: boolean) => {
            const x = tensor(x0.slice(), [rows, inFeatures], { requiresGrad: true });
            const w = tensor(w0.slice(), [outFeatures, inFeatures], { requiresGrad: true });
            const b = tensor(b0.slice(), [outFeatures], { requiresGrad: true });
            const loss = ops.sum(ops.mul(ops.linear(x, w, b), weights));
            return grad(loss, [x, w, b], { createGraph }).map((g) => g.values);
          };
          const oneCall = gradients(false);
          const composed = gradients(true);
          for (let i = 0; i < 3; i++)
            assert.deepEqual(oneCall[i], composed[i], `${rows}x${inFeatures}x${outFeatures}, gradient ${i}`);
        }
      });
    });

    test("no graph under noGrad or when nothing requires a gradient", () => {
      withBackend(backend, () => {
        const x = tensor([1, -2, 3], [1, 3]);
        const w = tensor([0.5, 0.5, 0.5, -1, 1, -1], [2, 3], { requiresGrad: true });
        const inference = noGrad(() => ops.linearAct(x, w, null, "relu"));
        assert.equal(inference.inputs, null);
        assert.equal(inference.requiresGrad, false);
        assert.deepEqual(inference.toArray(), [1, 0]);
        assert.equal(ops.linearAct(x, w.detach(), null, "relu").inputs, null);
        assert.notEqual(ops.linearAct(x, w, null, "relu").inputs, null);
      });
    });

    test("an MLP's forward and gradients equal the layer-by-layer unfused computation", () => {
      withBackend(backend, () => {
        for (const activation of ["relu", "tanh"] as const) {
          const mlp = new MLP([6, 32, 32, 3], { rng: new Rng(3), activation, outputActivation: "tanh" });
          const x = tensor(randomNormal(new Rng(4), 40 * 6), [40, 6]);
          const fusedOut = mlp.forward(x);
          const fusedGrads = grad(ops.sum(ops.square(fusedOut)), mlp.parameters());
          let h = x;
          const layers = mlp.layers;
          for (let i = 0; i < layers.length; i++) {
            h = ops.linear(h, layers.at(i).weight, layers.at(i).bias);
            h = activate(i + 1 < layers.length ? activation : "tanh", h);
          }
          const grads = grad(ops.sum(ops.square(h)), mlp.parameters());
          assert.deepEqual(fusedOut.values, h.values);
          for (let i = 0; i < grads.length; i++) assert.deepEqual(fusedGrads[i].values, grads[i].values);
        }
      });
    });
  });
}
