import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProximalError } from "../errors.js";
import { MLP } from "../nn/mlp.js";
import { fixtureProblem } from "../nn/testing.js";
import { Rng } from "../random/rng.js";
import { mean, square, sub } from "../tensor/ops.js";
import { availableBackends, getBackend, tensor, withBackend, zeros } from "../tensor/tensor.js";
import { randomNormal, TEST_BACKENDS } from "../tensor/testing.js";
import { Adam, AdamW } from "./adam.js";
import { RMSprop } from "./rmsprop.js";
import { SGD } from "./sgd.js";

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ProximalError && e.code === code);
}

describe("Optimizer base", () => {
  test("getState()/setState() resume training bit-identically (Adam, through JSON)", () => {
    const a = fixtureProblem();
    const optimizerA = new Adam(a.model.parameters(), { lr: 0.01 });
    const run = (o: Adam, loss: () => ReturnType<typeof a.loss>, steps: number) => {
      for (let i = 0; i < steps; i++) {
        o.zeroGrad();
        loss().backward();
        o.step();
      }
    };
    run(optimizerA, a.loss, 3);
    const saved = optimizerA.getState();
    const json = JSON.parse(JSON.stringify(saved.json));
    const weights = a.model.stateDict();
    const b = fixtureProblem();
    b.model.loadStateDict(weights);
    const optimizerB = new Adam(b.model.parameters(), { lr: 0.5 });
    optimizerB.setState({ tensors: saved.tensors, json });
    assert.equal(optimizerB.learningRate, 0.01, "options are restored");
    run(optimizerA, a.loss, 4);
    run(optimizerB, b.loss, 4);
    assert.deepEqual(
      b.model.parameters().map((p) => p.toArray()),
      a.model.parameters().map((p) => p.toArray()),
    );
  });

  test("getState() names buffers state.<index>.<buffer> and records per-parameter steps", () => {
    const p = zeros([2]).requireGrad();
    const q = zeros([3]).requireGrad();
    const optimizer = new SGD([p, q], { lr: 0.1, momentum: 0.9 });
    p.grad = tensor([1, 1]);
    optimizer.step();
    const { tensors, json } = optimizer.getState();
    assert.deepEqual(Object.keys(tensors), ["state.0.momentumBuffer"]);
    assert.deepEqual(json.steps, { 0: 1 });
    assert.equal(json.type, "SGD");
  });

  test("setState() refuses another optimizer's state and different parameter counts", () => {
    const params = [zeros([2]).requireGrad()];
    const state = new Adam(params).getState();
    assertCode(() => new AdamW(params).setState(state), "INVALID_ARGUMENT");
    assertCode(
      () => new Adam([zeros([2]).requireGrad(), zeros([1]).requireGrad()]).setState(state),
      "SHAPE_MISMATCH",
    );
  });

  test("param groups override defaults; learningRate sets every group", () => {
    const a = zeros([1]).requireGrad();
    const b = zeros([1]).requireGrad();
    const optimizer = new SGD([{ params: [a] }, { params: [b], lr: 1 }], { lr: 0.1 });
    a.grad = tensor([1]);
    b.grad = tensor([1]);
    optimizer.step();
    assert.deepEqual([a.values[0], b.values[0]], [Math.fround(-0.1), -1]);
    optimizer.learningRate = 0.5;
    assert.deepEqual(
      optimizer.paramGroups.map((g) => g.options.lr),
      [0.5, 0.5],
    );
  });

  test("parameters without a gradient are skipped", () => {
    const p = tensor([1, 2]).requireGrad();
    new Adam([p]).step();
    assert.deepEqual(p.toArray(), [1, 2]);
  });

  test("constructor errors: empty list, duplicate parameter, bad hyperparameters", () => {
    const p = zeros([1]).requireGrad();
    assertCode(() => new SGD([]), "INVALID_ARGUMENT");
    assertCode(() => new SGD([{ params: [p] }, { params: [p] }]), "INVALID_ARGUMENT");
    assertCode(() => new Adam([p], { betas: [0.9, 1] }), "INVALID_OPTION");
    assertCode(() => new SGD([p], { nesterov: true }), "INVALID_OPTION");
    assertCode(() => new RMSprop([p], { lr: -1 }), "INVALID_OPTION");
  });

  for (const backend of availableBackends()) {
    test(`Adam's one-call step equals adamStep per tensor, parameters at different step counts (${backend})`, () => {
      withBackend(backend, () => {
        const rng = new Rng(7);
        const sizes = [300, 5, 700];
        const params = sizes.map((n) => tensor(randomNormal(rng, n)).requireGrad());
        const expected = params.map((p) => p.values.slice());
        const moments = sizes.map((n) => [new Float32Array(n), new Float32Array(n)]);
        const steps = [0, 0, 0];
        const optimizer = new AdamW(params, { lr: 0.05 });
        // the middle parameter gets no gradient in the second update, so the third runs two counts
        for (const withGrad of [
          [true, true, true],
          [true, false, true],
          [true, true, true],
        ]) {
          params.forEach((p, i) => {
            p.grad = withGrad[i] ? tensor(randomNormal(rng, p.size)) : null;
          });
          optimizer.step();
          params.forEach((p, i) => {
            if (p.grad === null) return;
            const t = ++steps[i];
            getBackend().adamStep(expected[i], p.grad.values, moments[i][0], moments[i][1], {
              lr: 0.05,
              beta1: 0.9,
              beta2: 0.999,
              eps: 1e-8,
              weightDecay: 0.01,
              decoupled: true,
              biasCorrection1: 1 - 0.9 ** t,
              biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** t),
            });
          });
        }
        for (let i = 0; i < params.length; i++) {
          const p = params[i];
          assert.deepEqual(p.values, expected[i], `parameter ${i}`);
        }
        assert.deepEqual(optimizer.getState().json.steps, { 0: 3, 1: 2, 2: 3 });
      });
    });
  }

  for (const backend of availableBackends()) {
    test(`adamStep stores subnormal moments as 0 and moves parameters as without the flush (${backend})`, () => {
      withBackend(backend, () => {
        const f = Math.fround;
        const tiny = 2 ** -126; // the smallest normal float32; β1·tiny and β2·tiny are subnormal
        // [zero gradient, tiny first moment], [zero gradient, tiny second moment], [normal entry]
        const p = Float32Array.of(0.5, -0.25, 0.125);
        const g = Float32Array.of(0, 0, 0.01);
        const m = Float32Array.of(tiny, 0.001, 0.002);
        const v = Float32Array.of(1e-6, tiny, 1e-5);
        const args = {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0,
          decoupled: false,
          biasCorrection1: 1 - 0.9 ** 5,
          biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** 5),
        };
        // the unflushed float32 update, elementwise, as PyTorch computes it
        const unflushed = [0, 1, 2].map((i) => {
          const mi = f(f(f(0.9) * m[i]) + f(f(1 - f(0.9)) * g[i]));
          const vi = f(f(f(0.999) * v[i]) + f(f(f(1 - f(0.999)) * g[i]) * g[i]));
          const denom = f(f(f(Math.sqrt(vi)) / f(args.biasCorrection2Sqrt)) + f(1e-8));
          return { mi, vi, p: f(p[i] - f(f(f(f(1e-3) / f(args.biasCorrection1)) * mi) / denom)) };
        });
        assert.ok(
          unflushed[0].mi > 0 && unflushed[0].mi < 2 ** -126,
          "the test's first moment goes subnormal",
        );
        assert.ok(
          unflushed[1].vi > 0 && unflushed[1].vi < 2 ** -126,
          "the test's second moment goes subnormal",
        );
        getBackend().adamStep(p, g, m, v, args);
        assert.equal(m[0], 0);
        assert.equal(v[1], 0);
        assert.equal(m[2], unflushed[2].mi);
        assert.equal(v[2], unflushed[2].vi);
        assert.deepEqual(
          Array.from(p),
          unflushed.map((u) => u.p),
        );
      });
    });
  }

  test("AdamW defaults to weightDecay 0.01, Adam to 0 (as torch)", () => {
    const p = zeros([1]).requireGrad();
    assert.equal(new AdamW([p]).paramGroups[0].options.weightDecay, 0.01);
    assert.equal(new Adam([p]).paramGroups[0].options.weightDecay, 0);
  });
});

describe("determinism", () => {
  for (const backend of TEST_BACKENDS) {
    test(`same seed -> bit-identical parameters after 100 Adam steps (${backend})`, () => {
      const train = (): number[][] =>
        withBackend(backend, () => {
          const rng = new Rng(42);
          const model = new MLP([4, 16, 16, 2], { rng, init: "orthogonal" });
          const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
          for (let step = 0; step < 100; step++) {
            const x = tensor(randomNormal(rng, 32 * 4), [32, 4]);
            const y = tensor(randomNormal(rng, 32 * 2), [32, 2]);
            optimizer.zeroGrad();
            mean(square(sub(model.forward(x), y))).backward();
            optimizer.step();
          }
          return model.parameters().map((p) => p.toArray());
        });
      const first = train();
      assert.deepEqual(train(), first);
    });
  }
});
