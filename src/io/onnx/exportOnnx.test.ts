import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import type { Categorical } from "../../distributions/categorical.js";
import type { DiagGaussian } from "../../distributions/diagGaussian.js";
import type { MultiCategorical } from "../../distributions/multiCategorical.js";
import type { Env, ResetResult, StepResult } from "../../envs/env.js";
import { make } from "../../envs/make.js";
import { Box } from "../../envs/spaces/box.js";
import { MultiDiscrete } from "../../envs/spaces/multiDiscrete.js";
import type { VectorEnv } from "../../envs/vector/vectorEnv.js";
import { VectorNormalizeObservation } from "../../envs/vector/vectorNormalizeObservation.js";
import { ProximalError } from "../../errors.js";
import { Rng } from "../../random/rng.js";
import { A2C } from "../../rl/a2c.js";
import { A3C } from "../../rl/a3c.js";
import { ActorCritic } from "../../rl/actorCritic.js";
import { LOG_STD_MAX, LOG_STD_MIN } from "../../rl/common/continuousLosses.js";
import type { DeepQAlgorithm } from "../../rl/common/deepQAlgorithm.js";
import type { OnPolicyAlgorithm } from "../../rl/common/onPolicyAlgorithm.js";
import { D4PG } from "../../rl/d4pg.js";
import { DDPG } from "../../rl/ddpg.js";
import { DQN } from "../../rl/dqn.js";
import { PPO } from "../../rl/ppo.js";
import { Rainbow } from "../../rl/rainbow.js";
import { REINFORCE } from "../../rl/reinforce.js";
import { SAC } from "../../rl/sac.js";
import { QLearning } from "../../rl/tabular/qLearning.js";
import { TD3 } from "../../rl/td3.js";
import { TRPO } from "../../rl/trpo.js";
import { GPT } from "../../rlhf/gpt.js";
import { noGrad, Tensor } from "../../tensor/tensor.js";
import { exportOnnx } from "./exportOnnx.js";
import { type OnnxResult, runOnnx } from "./onnxRuntime.test.util.js";

// Every exported graph is run in onnxruntime-web on ROWS observations and compared with what the
// model computes in proximal: actions with `predict(obs, { deterministic: true })`, the other heads
// with the policy's forward pass, to TOLERANCE (absolute, or relative above 1).
const ROWS = 1000;
const TOLERANCE = 1e-5;

/** Observations around the statistics below, wide enough that some leave the clip range. */
function observations(size: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(ROWS * size);
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * (i % size) + 2 * rng.normal();
  return out;
}

/** A vector env behind observation normalisation with fixed, non-trivial statistics and clip 3. */
function normalized(id: string): VectorNormalizeObservation {
  const env = new VectorNormalizeObservation(make(id, { numEnvs: 1, seed: 0 }) as VectorEnv, {
    clipObservation: 3,
  });
  const size = (env.singleObservationSpace as Box).size;
  env.setStatistics({
    mean: Array.from({ length: size }, (_, k) => 0.3 * k - 0.2),
    var: Array.from({ length: size }, (_, k) => 0.5 + k),
    count: 100,
  });
  return env;
}

/** The observations a model sees in `predict`: normalised when it was trained behind a normaliser. */
function modelInput(model: { observationNormalizer: VectorNormalizeObservation | null }, obs: Float32Array) {
  return model.observationNormalizer?.normalizeObservations(obs) ?? obs;
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  tolerance = TOLERANCE,
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    if (!(error <= worst)) {
      worst = error;
      at = i;
    }
  }
  assert.ok(worst <= tolerance, `${what}: error ${worst} at ${at} (${actual[at]} vs ${expected[at]})`);
}

/**
 * Discrete actions equal row by row, except where the two best scores of proximal's own forward pass
 * are within the tolerance (float round-off may then pick either); those rows must be rare. The
 * actions must not all be the same, or the check would prove little.
 */
function assertSameChoices(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  scores: ArrayLike<number>,
  n: number,
) {
  let nearTies = 0;
  for (let r = 0; r < expected.length; r++) {
    const row = Array.from({ length: n }, (_, a) => scores[r * n + a]).sort((x, y) => y - x);
    if (row[0] - row[1] <= TOLERANCE) {
      nearTies++;
      continue;
    }
    assert.equal(actual[r], expected[r], `action of row ${r}`);
  }
  assert.ok(nearTies <= expected.length / 100, `${nearTies} near-ties`);
  assert.ok(new Set(Array.from(expected)).size > 1, "every row has the same action");
}

function logSoftmaxRows(logits: ArrayLike<number>, width: number, offset = 0, n = width): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / width; r++) {
    const row = Array.from({ length: n }, (_, a) => logits[r * width + offset + a]);
    const max = Math.max(...row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    out.push(...row.map((v) => v - logSum));
  }
  return out;
}

async function runPolicy(
  model: Parameters<typeof exportOnnx>[0],
  obs: Float32Array,
  size: number,
): Promise<Record<string, OnnxResult>> {
  return runOnnx(exportOnnx(model), { obs: { type: "float32", data: obs, dims: [ROWS, size] } });
}

/** On-policy checks: action vs predict, value and the distribution's parameters vs the policy. */
async function checkOnPolicy(model: OnPolicyAlgorithm): Promise<Record<string, OnnxResult>> {
  const size = model.policy.observationSize;
  const obs = observations(size);
  const input = modelInput(model, obs);
  const out = await runPolicy(model, obs, size);
  const expected = model.predict(input, { deterministic: true });
  const { distribution, values } = noGrad(() => {
    const rows = new Tensor(input, [ROWS, size]);
    // predictValues, not forward's values: ActorCritic's V(s) is Σ π Q, not its unused V head
    return {
      distribution: model.policy.forward(rows).distribution,
      values: model.policy.predictValues(rows),
    };
  });
  assertClose(out.value.data, values.values, "value");
  assert.deepEqual(out.value.dims, [ROWS]);
  const kind = model.policy.action;
  if (kind.kind === "discrete") {
    const logProbs = (distribution as Categorical).logProbs.values;
    assertClose(logSoftmaxRows(out.logits.data, kind.n), logProbs, "log-softmax(logits)");
    assert.equal(out.action.type, "int64");
    assertSameChoices(out.action.data, expected, logProbs, kind.n);
  } else if (kind.kind === "box") {
    const gaussian = distribution as DiagGaussian;
    assertClose(out.mean.data, gaussian.mean.values, "mean");
    const logStd = gaussian.logStd.values;
    assertClose(
      out.logStd.data,
      Array.from({ length: ROWS * kind.dim }, (_, i) => logStd[i % kind.dim]),
      "logStd",
    );
    assert.equal(out.action.type, "float32");
    assertClose(out.action.data, expected, "action");
  } else {
    const width = kind.nvec.reduce((a, b) => a + b, 0);
    const components = (distribution as MultiCategorical).components;
    let offset = 0;
    kind.nvec.forEach((n, j) => {
      const logProbs = components[j].logProbs.values;
      assertClose(logSoftmaxRows(out.logits.data, width, offset, n), logProbs, `log-softmax(logits) ${j}`);
      const pick = (values: ArrayLike<number>) =>
        Array.from({ length: ROWS }, (_, r) => values[r * kind.nvec.length + j]);
      assertSameChoices(pick(out.action.data), pick(expected), logProbs, n);
      offset += n;
    });
    assert.deepEqual(out.action.dims, [ROWS, kind.nvec.length]);
  }
  return out;
}

/** Deep Q checks: greedy action vs predict, `q` vs the online network (noise off, as predict). */
async function checkDeepQ(model: DeepQAlgorithm): Promise<void> {
  const policy = model.policy;
  const size = policy.observationSize;
  const obs = observations(size);
  const input = modelInput(model, obs);
  const out = await runPolicy(model, obs, size);
  const expected = model.predict(input, { deterministic: true });
  policy.qNet.setNoise(false);
  const q = policy.qValues(input, ROWS);
  policy.qNet.setNoise(true);
  assertClose(out.q.data, q, "q");
  assertSameChoices(out.action.data, expected, q, policy.nActions);
}

/**
 * Multiply the weights of the layer `name` of `module` by `factor` (a freshly initialised head is
 * nearly flat: sharpening it makes the actions depend on the observation, as a trained one's do).
 */
function sharpen(module: { stateDict(): Record<string, Tensor> }, name: string, factor: number): void {
  const weight = module.stateDict()[name];
  assert.ok(weight !== undefined, `no ${name}`);
  const values = weight.values;
  for (let i = 0; i < values.length; i++) values[i] *= factor;
}

/** A small env with MultiDiscrete actions (no built-in env has them). */
class MultiDiscreteEnv implements Env<Float32Array, Int32Array> {
  readonly observationSpace = new Box(-10, 10, [5]);
  readonly actionSpace = new MultiDiscrete([3, 4]);
  readonly metadata = { renderModes: [], renderFps: 1 };
  reset(): ResetResult<Float32Array> {
    return { observation: new Float32Array(5), info: {} };
  }
  step(): StepResult<Float32Array> {
    return { observation: new Float32Array(5), reward: 0, terminated: true, truncated: false, info: {} };
  }
  render(): string {
    return "";
  }
  close(): void {}
}

describe("exportOnnx(): on-policy actor-critics match predict and the policy", () => {
  test("PPO, Discrete (CartPole), trained a little, normalisation with clip baked in", async () => {
    const model = new PPO(normalized("CartPole-v1"), { seed: 0, nSteps: 64, batchSize: 64, nEpochs: 2 });
    await model.learn({ totalTimesteps: 128 });
    await checkOnPolicy(model);
  });

  test("PPO, Discrete, shared relu trunk and PyTorch init", async () => {
    const model = new PPO("CartPole-v1", {
      seed: 1,
      policy: { shareTrunk: true, activation: "relu", orthoInit: false, netArch: [32, 16] },
    });
    await checkOnPolicy(model);
  });

  test("PPO, Box (Pendulum): the clipped Gaussian mode, mean, logStd, value", async () => {
    const model = new PPO(normalized("Pendulum-v1"), { seed: 2, policy: { logStdInit: -0.5 } });
    sharpen(model.policy, "actor.layers.2.weight", 300);
    const out = await checkOnPolicy(model);
    assert.ok(
      out.action.data.some((a) => Math.abs(a) === 2),
      "no action was clipped to the bounds",
    );
  });

  test("A2C, MultiDiscrete([3, 4]), gelu: one argmax per component", async () => {
    const model = new A2C(new MultiDiscreteEnv(), {
      seed: 3,
      policy: { activation: "gelu", orthoInit: false },
    });
    await checkOnPolicy(model);
  });

  test("A3C (CartPole), TRPO and REINFORCE (Acrobot, 3 actions)", async () => {
    await checkOnPolicy(new A3C("CartPole-v1", { seed: 4, policy: { orthoInit: false } }));
    await checkOnPolicy(new TRPO("Acrobot-v1", { seed: 5, policy: { orthoInit: false } }));
    await checkOnPolicy(new REINFORCE("Acrobot-v1", { seed: 6, policy: { orthoInit: false } }));
  });

  test("ActorCritic: q from the Q-critic and value = Σ π(a|s) Q(s, a)", async () => {
    const model = new ActorCritic("Acrobot-v1", { seed: 7, policy: { orthoInit: false } });
    const out = await checkOnPolicy(model);
    const input = observations(model.policy.observationSize);
    const q = noGrad(
      () => model.policy.qValues(new Tensor(input, [ROWS, model.policy.observationSize])).values,
    );
    assertClose(out.q.data, q, "q");
  });
});

describe("exportOnnx(): the deep Q family matches predict and the online network", () => {
  test("DQN, plain MLP, behind observation normalisation", async () => {
    const model = new DQN(normalized("CartPole-v1"), { seed: 0 });
    sharpen(model.policy, "qNet.mlp.layers.2.weight", 10);
    await checkDeepQ(model);
  });

  test("DQN, dueling", async () => {
    await checkDeepQ(new DQN("Acrobot-v1", { seed: 1, dueling: true }));
  });

  test("Rainbow: noisy layers by their mean weights, dueling, C51 expectation", async () => {
    const model = new Rainbow("CartPole-v1", { seed: 2, distributional: { atoms: 11, vMin: -5, vMax: 5 } });
    assert.ok(model.policy.options.noisySigma0 > 0 && model.policy.options.dueling);
    await checkDeepQ(model);
  });

  test("QR-DQN: the mean of the quantiles, with and without dueling", async () => {
    await checkDeepQ(new DQN("CartPole-v1", { seed: 3, quantile: { quantiles: 7 } }));
    await checkDeepQ(new DQN("Acrobot-v1", { seed: 4, quantile: { quantiles: 5 }, dueling: true }));
  });
});

describe("exportOnnx(): continuous actors match predict", () => {
  test("DDPG, TD3 and D4PG: tanh actor rescaled to the bounds", async () => {
    for (const model of [
      new DDPG("Pendulum-v1", { seed: 0, policy: { netArch: [32, 32] } }),
      new TD3(normalized("MountainCarContinuous-v0"), { seed: 1, policy: { netArch: [16] } }),
      new D4PG("Pendulum-v1", { seed: 2, policy: { netArch: [32] } }),
    ]) {
      const size = model.policy.observationSize;
      const obs = observations(size);
      const out = await runPolicy(model, obs, size);
      assertClose(
        out.action.data,
        model.predict(modelInput(model, obs), { deterministic: true }),
        model.algorithmName,
      );
      assert.deepEqual(Object.keys(out).sort(), ["action"]);
    }
  });

  test("SAC: tanh(mean) rescaled, mean, and logStd clamped to [LOG_STD_MIN, LOG_STD_MAX]", async () => {
    const model = new SAC(normalized("Pendulum-v1"), { seed: 3, policy: { netArch: [32, 32] } });
    const size = model.policy.observationSize;
    const obs = observations(size);
    const input = modelInput(model, obs);
    const out = await runPolicy(model, obs, size);
    assertClose(out.action.data, model.predict(input, { deterministic: true }), "action");
    const head = noGrad(() => model.policy.actor.forward(new Tensor(input, [ROWS, size])));
    assertClose(out.mean.data, head.mean.values, "mean");
    const clamped = Array.from(head.logStd.values, (v) => Math.min(Math.max(v, LOG_STD_MIN), LOG_STD_MAX));
    assertClose(out.logStd.data, clamped, "logStd");
  });
});

/** Random masks `[ROWS * n]` with at least one allowed action per row. */
function randomMasks(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const masks = new Uint8Array(ROWS * n);
  for (let r = 0; r < ROWS; r++) {
    for (let a = 0; a < n; a++) masks[r * n + a] = rng.uniform() < 0.5 ? 1 : 0;
    masks[r * n + Math.floor(rng.uniform() * n)] = 1;
  }
  return masks;
}

describe("exportOnnx({ actionMask: true })", () => {
  test("PPO: masked logits and the mode among allowed actions, as predict with the mask", async () => {
    const model = new PPO("Acrobot-v1", { seed: 8, policy: { orthoInit: false } });
    const size = model.policy.observationSize;
    const obs = observations(size);
    const masks = randomMasks(3, 9);
    const out = await runOnnx(exportOnnx(model, { actionMask: true }), {
      obs: { type: "float32", data: obs, dims: [ROWS, size] },
      actionMask: { type: "bool", data: masks, dims: [ROWS, 3] },
    });
    const expected = model.predict(obs, { deterministic: true, actionMask: masks });
    const logProbs = noGrad(
      () =>
        (model.policy.forward(new Tensor(obs, [ROWS, size]), masks).distribution as Categorical).logProbs
          .values,
    );
    assertClose(logSoftmaxRows(out.logits.data, 3), logProbs, "log-softmax(masked logits)");
    assertSameChoices(out.action.data, expected, logProbs, 3);
    for (let r = 0; r < ROWS; r++)
      assert.equal(masks[r * 3 + out.action.data[r]], 1, `row ${r} took a masked action`);
  });

  test("DQN: the greedy allowed action; q unmasked", async () => {
    const model = new DQN("Acrobot-v1", { seed: 9 });
    sharpen(model.policy, "qNet.mlp.layers.2.weight", 10);
    const obs = observations(6);
    const masks = randomMasks(3, 10);
    const out = await runOnnx(exportOnnx(model, { actionMask: true }), {
      obs: { type: "float32", data: obs, dims: [ROWS, 6] },
      actionMask: { type: "bool", data: masks, dims: [ROWS, 3] },
    });
    const q = model.policy.qValues(obs, ROWS);
    assertClose(out.q.data, q, "q");
    const maskedQ = Array.from(q, (v, i) => (masks[i] ? v : Number.NEGATIVE_INFINITY));
    assertSameChoices(
      out.action.data,
      model.predict(obs, { deterministic: true, actionMask: masks }),
      maskedQ,
      3,
    );
  });

  test("Box actions have no mask: UNSUPPORTED_MODEL", () => {
    assert.throws(
      () => exportOnnx(new SAC("Pendulum-v1", { seed: 0 }), { actionMask: true }),
      (error: unknown) =>
        error instanceof ProximalError &&
        error.code === "UNSUPPORTED_MODEL" &&
        /Discrete actions only/.test(error.message),
    );
  });
});

describe("exportOnnx(): options and refusals", () => {
  test("observationNormalization: null leaves it out; explicit statistics replace the model's", async () => {
    const model = new DDPG(normalized("Pendulum-v1"), { seed: 5, policy: { netArch: [8] } });
    const obs = observations(3);
    const raw = await runOnnx(exportOnnx(model, { observationNormalization: null }), {
      obs: { type: "float32", data: obs, dims: [ROWS, 3] },
    });
    assertClose(raw.action.data, model.predict(obs), "without normalisation");
    const stats = { mean: [1, 2, 3], var: [4, 0.25, 1], epsilon: 0, clip: null };
    const scaled = Float32Array.from(obs, (v, i) => (v - stats.mean[i % 3]) / Math.sqrt(stats.var[i % 3]));
    const custom = await runOnnx(exportOnnx(model, { observationNormalization: stats }), {
      obs: { type: "float32", data: obs, dims: [ROWS, 3] },
    });
    assertClose(custom.action.data, model.predict(scaled), "with given statistics");
    assert.throws(
      () => exportOnnx(model, { observationNormalization: { ...stats, mean: [0] } }),
      (error: unknown) => error instanceof ProximalError && error.code === "SHAPE_MISMATCH",
    );
  });

  test("the exporter is browser-safe: no module of io/onnx imports a Node built-in", async () => {
    const dir = new URL(".", import.meta.url);
    const modules = (await readdir(dir)).filter((f) => f.endsWith(".js") && !f.includes(".test."));
    assert.ok(modules.includes("exportOnnx.js") && modules.length >= 5, modules.join(", "));
    for (const file of modules) {
      const text = await readFile(new URL(file, dir), "utf8");
      assert.doesNotMatch(text, /from "node:|import\("node:/, file);
    }
  });

  test("a Q-network over Discrete observations: the index one-hot inside the graph (OneHot), as the network reads it", async () => {
    const model = new DQN("FrozenLake8x8-v1", { seed: 0 });
    sharpen(model.policy.qNet, "mlp.layers.2.weight", 30);
    const obs = Float32Array.from({ length: ROWS }, (_, i) => (i * 7) % 64);
    const out = await runPolicy(model, obs, 1);
    const expected = model.predict(obs, { deterministic: true });
    const q = model.policy.qValues(obs, ROWS);
    assertClose(out.q.data, q, "q");
    assert.deepEqual(out.q.dims, [ROWS, 4]);
    assertSameChoices(out.action.data, expected, q, 4);
  });

  test("a tabular algorithm or another object is UNSUPPORTED_MODEL, naming what is exportable", () => {
    const isUnsupported = (pattern: RegExp) => (error: unknown) =>
      error instanceof ProximalError && error.code === "UNSUPPORTED_MODEL" && pattern.test(error.message);
    assert.throws(
      () => exportOnnx(new QLearning("FrozenLake-v1")),
      isUnsupported(/QLearning.*tabular.*Q-table/),
    );
    assert.throws(() => exportOnnx({} as never), isUnsupported(/PPO, A2C/));
    const ppo = new PPO("CartPole-v1", { seed: 0 });
    const custom = { algorithmName: "Custom", policy: { observationSize: 4 }, env: ppo.env };
    assert.throws(() => exportOnnx(custom), isUnsupported(/Custom's policy Object/));
  });
});

describe("exportOnnx(GPT)", () => {
  test("logits match GPT.forward to 1e-4 (relative) on random token ids", async () => {
    const gpt = new GPT(
      { vocabSize: 50, nPositions: 16, nEmbd: 32, nLayer: 2, nHead: 4 },
      { rng: new Rng(0) },
    );
    const rng = new Rng(1);
    const batch = 3;
    const time = 11;
    const ids = Int32Array.from({ length: batch * time }, () => Math.floor(rng.uniform() * 50));
    const expected = noGrad(() => gpt.forward(new Tensor(ids, [batch, time])).logits!.values);
    const out = await runOnnx(exportOnnx(gpt), {
      input_ids: { type: "int64", data: ids, dims: [batch, time] },
    });
    assert.deepEqual(out.logits.dims, [batch, time, 50]);
    const scale = Math.max(...Array.from(expected, Math.abs));
    let worst = 0;
    for (let i = 0; i < expected.length; i++)
      worst = Math.max(worst, Math.abs(out.logits.data[i] - expected[i]) / scale);
    assert.ok(worst <= 1e-4, `relative error ${worst}`);
    // causal: the logits of the first positions do not depend on later tokens
    const shorter = await runOnnx(exportOnnx(gpt), {
      input_ids: { type: "int64", data: ids.subarray(0, 4), dims: [1, 4] },
    });
    assertClose(shorter.logits.data, out.logits.data.slice(0, 4 * 50), "prefix logits", 1e-4);
  });
});
