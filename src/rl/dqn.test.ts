import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Box } from "../envs/spaces/box.js";
import { Discrete } from "../envs/spaces/discrete.js";
import { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { Tensor } from "../tensor/tensor.js";
import { evaluatePolicy } from "./common/evaluation.js";
import { QPolicy } from "./common/qPolicy.js";
import type { DQNOptions } from "./dqn.js";
import { DQN, huberLoss, linearExplorationSchedule, tdTargets } from "./dqn.js";

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

/** Small, fast settings on CartPole: 2 envs, learning after 64 steps, frequent target updates. */
const SMALL: DQNOptions = {
  numEnvs: 2,
  learningStarts: 64,
  bufferSize: 1000,
  batchSize: 16,
  trainFreq: 4,
  gradientSteps: 2,
  targetUpdateInterval: 40,
  learningRate: 1e-3,
  policy: { netArch: [16] },
};

function weights(model: DQN): Float32Array[] {
  return Object.values(model.policy.stateDict()).map((t) => Float32Array.from(t.values));
}

describe("tdTargets()", () => {
  test("DQN: r + γ max_a Q_target(s', a), no bootstrap at terminal rows", () => {
    // by hand: 1 + 0.9·3 = 3.7; terminal row: 2; -1 + 0.9·max(-1, -2) = -1.9
    const y = tdTargets({
      rewards: [1, 2, -1],
      dones: [0, 1, 0],
      nextQTarget: [2, 3, 5, 7, -1, -2],
      nActions: 2,
      gamma: 0.9,
    });
    close(y, [3.7, 2, -1.9]);
  });

  test("Double DQN: the online network picks a', the target network values it", () => {
    // online argmax is action 0 in row 0 (value 2 in the target) and action 1 in row 1 (value 4)
    // by hand: 0 + 0.5·2 = 1; 1 + 0.5·4 = 3 (plain DQN would give 0 + 0.5·5 = 2.5, 1 + 0.5·4 = 3)
    const y = tdTargets({
      rewards: [0, 1],
      dones: [0, 0],
      nextQTarget: [2, 5, 1, 4],
      nextQOnline: [9, 1, 0, 8],
      nActions: 2,
      gamma: 0.5,
    });
    close(y, [1, 3]);
  });

  test("n-step rows bootstrap with γ^k", () => {
    // by hand: 1.5 + 0.9^3·2 = 2.958; a row cut to k = 1 by a truncation: 1 + 0.9·2 = 2.8
    const y = tdTargets({
      rewards: [1.5, 1],
      dones: [0, 0],
      steps: [3, 1],
      nextQTarget: [2, 1, 2, 1],
      nActions: 2,
      gamma: 0.9,
    });
    close(y, [2.958, 2.8], 1e-5);
  });
});

describe("huberLoss()", () => {
  test("is δ²/2 inside [-1, 1] and |δ| − 1/2 outside, averaged", () => {
    // by hand: δ = 0.5 → 0.125, δ = −3 → 2.5, δ = 1 → 0.5; mean = 3.125 / 3
    const q = new Tensor(new Float32Array([0.5, -3, 2]), [3]);
    const y = new Tensor(new Float32Array([0, 0, 1]), [3]);
    close([huberLoss(q, y).item()], [3.125 / 3]);
  });

  test("its gradient is the TD error clipped to [-1, 1] (Mnih et al. 2015), over the batch size", () => {
    const q = new Tensor(new Float32Array([0.5, -3, 2]), [3]).requireGrad();
    huberLoss(q, new Tensor(new Float32Array([0, 0, 0]), [3])).backward();
    close(q.grad!.values, [0.5 / 3, -1 / 3, 1 / 3]);
  });

  test("importance weights scale each row", () => {
    // by hand: (0.5·0.125 + 2·2.5) / 2 = 2.53125
    const q = new Tensor(new Float32Array([0.5, -3]), [2]);
    const y = new Tensor(new Float32Array([0, 0]), [2]);
    close([huberLoss(q, y, new Tensor(new Float32Array([0.5, 2]), [2])).item()], [2.53125]);
  });
});

// fixtures/torch/dqn.json: scripts/fixtures/makeDqnFixtures.py, torch 1.13 in float64 from float32
// inputs (seed 0): SB3's TD target and smooth_l1_loss, the Double DQN target, the PER-weighted loss.
const fx = (
  JSON.parse(readFileSync(new URL("../../fixtures/torch/dqn.json", import.meta.url), "utf8")) as {
    dqn: Record<string, number & number[]>;
  }
).dqn;

describe("DQN losses against PyTorch", () => {
  const inputs = {
    rewards: fx.rewards,
    dones: fx.dones,
    steps: fx.steps,
    nextQTarget: fx.nextQTarget,
    nActions: fx.nActions,
    gamma: fx.gamma,
  };
  const lossOf = (weighted: boolean) => {
    const q = new Tensor(Float32Array.from(fx.q), [fx.batch, fx.nActions]).requireGrad();
    const taken = ops.takeAlongLastAxis(q, new Tensor(Int32Array.from(fx.actions), [fx.batch]));
    const y = new Tensor(tdTargets(inputs), [fx.batch]);
    const loss = huberLoss(taken, y, weighted ? new Tensor(Float32Array.from(fx.weights), [fx.batch]) : null);
    loss.backward();
    return { loss: loss.item(), grad: q.grad!.values };
  };

  test("TD targets (DQN and Double DQN, n-step γ^k, a terminal row)", () => {
    close(tdTargets(inputs), fx.targetDqn, 1e-5);
    close(tdTargets({ ...inputs, nextQOnline: fx.nextQOnline }), fx.targetDouble, 1e-5);
  });

  test("Huber loss and its gradient match smooth_l1_loss", () => {
    const { loss, grad } = lossOf(false);
    close([loss], [fx.loss], 1e-5);
    close(grad, fx.grad, 1e-6);
  });

  test("importance-weighted Huber loss and its gradient match SB3's PER form", () => {
    const { loss, grad } = lossOf(true);
    close([loss], [fx.lossWeighted], 1e-5);
    close(grad, fx.gradWeighted, 1e-6);
  });
});

describe("linearExplorationSchedule()", () => {
  test("anneals over the first fraction, then stays at the final value (SB3 get_linear_fn)", () => {
    const eps = linearExplorationSchedule(1, 0.05, 0.1);
    close([eps(1), eps(0.95), eps(0.9), eps(0.5), eps(0)], [1, 0.525, 0.05, 0.05, 0.05]);
  });
});

describe("QPolicy", () => {
  test("the target starts equal to the online network; Polyak τ mixes θ' ← τθ + (1 − τ)θ'", () => {
    const policy = new QPolicy(new Box(-1, 1, [3]), new Discrete(2), new Rng(0), { netArch: [4] });
    const online = policy.qNet.stateDict();
    const target = policy.qNetTarget.stateDict();
    for (const name of Object.keys(online)) close(target[name].values, online[name].values, 0);
    const before = Object.fromEntries(
      Object.entries(target).map(([k, t]) => [k, Float32Array.from(t.values)]),
    );
    for (const p of policy.qNet.parameters()) (p.data as Float32Array).fill(1);
    policy.updateTarget(0.25);
    for (const name of Object.keys(target)) {
      const expected = Array.from(before[name], (v) => 0.75 * v + 0.25);
      close(policy.qNetTarget.stateDict()[name].values, expected);
    }
  });

  test("dueling combines the streams as V + A − mean(A) (Wang et al. 2016, eq. 9)", () => {
    const policy = new QPolicy(new Box(-1, 1, [2]), new Discrete(3), new Rng(1), { netArch: [4] }, true);
    const obs = new Tensor(new Float32Array([0.3, -0.2, 0.9, 0.1]), [2, 2]);
    const net = policy.qNet as unknown as Record<string, { forward(x: Tensor): Tensor }>;
    const features = net.trunk.forward(obs);
    const v = net.valueHead.forward(features).values;
    const adv = net.advantageHead.forward(features).values;
    const q = policy.qNet.forward(obs).values;
    for (let b = 0; b < 2; b++) {
      const meanA = (adv[b * 3] + adv[b * 3 + 1] + adv[b * 3 + 2]) / 3;
      close(
        q.subarray(b * 3, b * 3 + 3),
        [0, 1, 2].map((a) => v[b] + adv[b * 3 + a] - meanA),
        1e-6,
      );
    }
  });
});

describe("DQN", () => {
  test("has SB3's defaults", () => {
    const model = new DQN("CartPole-v1", { bufferSize: 1000 });
    assert.equal(model.learningStarts, 100);
    assert.equal(model.batchSize, 32);
    assert.equal(model.tau, 1);
    assert.equal(model.gamma, 0.99);
    assert.equal(model.trainFreq, 4);
    assert.equal(model.gradientSteps, 1);
    assert.equal(model.targetUpdateInterval, 10_000);
    assert.equal(model.explorationFraction, 0.1);
    assert.equal(model.explorationInitialEps, 1);
    assert.equal(model.explorationFinalEps, 0.05);
    assert.equal(model.maxGradNorm, 10);
    assert.deepEqual(model.policy.options.netArch, [64, 64]);
    assert.equal(model.policy.options.activation, "relu");
    assert.equal(new DQN("CartPole-v1").bufferSize, 1_000_000);
  });

  test("starts its Q-network from PyTorch's default Linear init (SB3's QNetwork), not orthogonal", () => {
    const model = new DQN("CartPole-v1", { bufferSize: 100, seed: 5, policy: { netArch: [256, 256] } });
    const params = new Map(model.policy.qNet.namedParameters());
    for (const [layer, fanIn] of [
      ["mlp.layers.0", 4],
      ["mlp.layers.1", 256],
      ["mlp.layers.2", 256],
    ] as const) {
      const bound = 1 / Math.sqrt(fanIn); // kaiming_uniform_(a=√5) and the bias's U(−1/√in, 1/√in)
      for (const part of ["weight", "bias"]) {
        const v = params.get(`${layer}.${part}`)!.values;
        let sumSq = 0;
        for (const x of v) {
          assert.ok(Math.abs(x) <= bound, `${layer}.${part}: ${x} outside ±${bound}`);
          sumSq += x * x;
        }
        // uniform on ±bound has RMS bound/√3; an orthogonal init would have zero biases
        if (v.length >= 256) {
          const rms = Math.sqrt(sumSq / v.length);
          assert.ok(Math.abs(rms - bound / Math.sqrt(3)) < 0.15 * bound, `${layer}.${part} rms ${rms}`);
        }
      }
    }
  });

  test("predict keeps greedy and random actions to the allowed ones", () => {
    const model = new DQN("CartPole-v1", { bufferSize: 100, seed: 3 });
    const obs = new Float32Array(4 * 20).map((_, i) => Math.sin(i));
    const mask = new Uint8Array(2 * 20);
    for (let i = 0; i < 20; i++) mask[i * 2 + (i % 2)] = 1; // row i allows only action i % 2
    model.explorationRate = 1; // every call random
    for (let k = 0; k < 5; k++) {
      const actions = model.predict(obs, { actionMask: mask });
      for (let i = 0; i < 20; i++) assert.equal(actions[i], i % 2);
    }
    const greedy = model.predict(obs, { deterministic: true, actionMask: mask });
    for (let i = 0; i < 20; i++) assert.equal(greedy[i], i % 2);
  });

  test("updates the target every max(targetUpdateInterval // numEnvs, 1) vector steps (SB3)", async () => {
    // 2 envs, interval 40: every 20 vector steps, i.e. at 40, 80, ... timesteps
    const model = new DQN("CartPole-v1", { ...SMALL, seed: 1 });
    const updatedAt: number[] = [];
    const updateTarget = model.policy.updateTarget.bind(model.policy);
    model.policy.updateTarget = (tau: number) => {
      updatedAt.push(model.numTimesteps);
      updateTarget(tau);
    };
    const same = () => {
      const online = model.policy.qNet.stateDict();
      const target = model.policy.qNetTarget.stateDict();
      return Object.keys(online).every((k) => online[k].values.every((v, i) => v === target[k].values[i]));
    };
    const seen: [number, boolean][] = [];
    await model.learn({
      totalTimesteps: 160,
      onUpdate: (stats) => {
        seen.push([stats["time/timesteps"], same()]);
      },
    });
    // trainFreq 4 × 2 envs = 8 timesteps per update; training starts after 64 and the target is
    // refreshed after collection at 80 and 120 but before that phase's gradient steps
    const at = new Map(seen);
    assert.equal(at.get(64), true); // no training yet
    assert.equal(at.get(72), false); // trained once, target not refreshed
    assert.equal(at.get(88), false);
    assert.deepEqual(updatedAt, [40, 80, 120, 160]);
  });

  test("stores finished episodes with their final observation (not the reset one), done = terminated", async () => {
    // every stored transition's next observation is its real successor: where an episode ended,
    // the terminal CartPole state, never the next episode's first observation
    const model = new DQN("CartPole-v1", { ...SMALL, learningStarts: 10_000, seed: 2 });
    await model.learn({ totalTimesteps: 200 });
    const buffer = model.replayBuffer;
    assert.equal(buffer.size, 200);
    for (let i = 0; i < buffer.size; i++) {
      if (buffer.terminated[i] === 0 && buffer.truncated[i] === 0) continue;
      // CartPole terminates when |x| > 2.4 or |θ| > 0.2095: the final observation shows it
      const x = buffer.nextObservations[i * 4];
      const theta = buffer.nextObservations[i * 4 + 2];
      assert.ok(Math.abs(x) > 2.4 || Math.abs(theta) > 0.2094, `row ${i}: x ${x}, θ ${theta}`);
    }
    const sample = buffer.sample(32, new Rng(0));
    close(sample.dones, Array.from(sample.terminated));
  });

  for (const [name, options] of [
    ["plain", {}],
    ["double", { double: true }],
    ["dueling", { dueling: true }],
    ["prioritized", { prioritized: true }],
    ["nStep", { nStep: 3 }],
    ["soft target (tau 0.5)", { tau: 0.5 }],
    ["noisy", { noisy: true }],
    ["distributional (C51)", { distributional: { atoms: 11, vMin: 0, vMax: 20 } }],
    ["distributional + dueling + double", { distributional: {}, dueling: true, double: true }],
    ["distributional + prioritized + nStep", { distributional: {}, prioritized: true, nStep: 3 }],
  ] as [string, DQNOptions][]) {
    test(`${name}: a short run trains without NaN and changes the weights`, async () => {
      const model = new DQN("CartPole-v1", { ...SMALL, ...options, seed: 4 });
      const before = weights(model);
      let lastLoss = Number.NaN;
      await model.learn({
        totalTimesteps: 240,
        onUpdate: (stats) => {
          if (stats["train/loss"] !== undefined) lastLoss = stats["train/loss"];
        },
      });
      assert.ok(Number.isFinite(lastLoss), `loss ${lastLoss}`);
      const after = weights(model);
      assert.ok(after.every((w) => w.every(Number.isFinite)));
      assert.ok(
        after.some((w, i) => w.some((v, j) => v !== before[i][j])),
        "weights did not change",
      );
      assert.ok(model.nUpdates > 0);
    });
  }

  test("prioritized replay updates priorities from |δ|", async () => {
    const model = new DQN("CartPole-v1", { ...SMALL, prioritized: true, seed: 5 });
    await model.learn({ totalTimesteps: 120 });
    const buffer =
      model.replayBuffer as import("./replay/prioritizedReplayBuffer.js").PrioritizedReplayBuffer;
    const priorities = new Set<number>();
    for (let i = 0; i < buffer.size; i++) priorities.add(buffer.priority(i));
    assert.ok(priorities.size > 2, "priorities stayed at the initial value");
  });

  test("learn stopped, saved and resumed gives bit-identical weights (replay, n-step and PER saved)", async () => {
    const options: DQNOptions = {
      ...SMALL,
      nStep: 3,
      prioritized: true,
      double: true,
      saveReplayBuffer: true,
      seed: 7,
    };
    const total = 400;
    const straight = new DQN("CartPole-v1", options);
    await straight.learn({ totalTimesteps: total });

    const first = new DQN("CartPole-v1", options);
    await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 200 });
    assert.equal(first.numTimesteps, 200);
    const dir = await mkdtemp(join(tmpdir(), "proximal-dqn-"));
    try {
      await first.save(dir);
      const resumed = await DQN.load(dir, { restoreEnv: true });
      assert.equal(resumed.replayBuffer.size, first.replayBuffer.size);
      await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
      assert.equal(resumed.numTimesteps, straight.numTimesteps);
      assert.equal(resumed.nUpdates, straight.nUpdates);
      const a = weights(straight);
      const b = weights(resumed);
      for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i]);
      // a loaded model acts as the saved one
      const again = await DQN.load(dir);
      const obs = new Float32Array([0.01, -0.02, 0.03, 0.04]);
      assert.deepEqual(
        again.predict(obs, { deterministic: true }),
        first.predict(obs, { deterministic: true }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("rejects bad options with the fix", () => {
    assert.throws(() => new DQN("CartPole-v1", { bufferSize: 10, batchSize: 32 }), {
      code: "INVALID_OPTION",
    });
    assert.throws(() => new DQN("CartPole-v1", { bufferSize: 100, tau: 0 }), { code: "INVALID_OPTION" });
    assert.throws(() => new DQN("Pendulum-v1", { bufferSize: 100 }), { code: "UNSUPPORTED_SPACE" });
  });
});

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

describe("DQN learning (slow)", () => {
  test("CartPole-v1 with RL Zoo's config beats a random policy within 5k steps", {
    skip: quick,
  }, async () => {
    // rlzoo preset (presets/dqn/rlzoo.yaml) with a 5k-step budget instead of 50k; ε reaches its
    // final value after 16% = 800 steps. Measured (seed 0): deterministic eval mean return 115.3 over
    // 10 episodes (eval seed 1); seeds 1 and 2 at 4k steps: 176.5, 189.3. A uniformly random policy
    // (Rng seed 0, eval seed 1, 100 episodes) averages 22.8, its best episode is 62 and its best
    // 10-episode mean 27; threshold 60, about twice the random policy's best 10-episode mean.
    const model = new DQN("CartPole-v1", {
      seed: 0,
      learningRate: 2.3e-3,
      batchSize: 64,
      bufferSize: 100_000,
      learningStarts: 1000,
      gamma: 0.99,
      targetUpdateInterval: 10,
      trainFreq: 256,
      gradientSteps: 128,
      explorationFraction: 0.16,
      explorationFinalEps: 0.04,
      policy: { netArch: [256, 256] },
    });
    await model.learn({ totalTimesteps: 5000 });
    const { meanReturn } = await evaluatePolicy(model, "CartPole-v1", { episodes: 10, seed: 1 });
    assert.ok(meanReturn > 60, `mean return ${meanReturn}`);
  });
});
