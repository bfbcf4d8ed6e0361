import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Box } from "../envs/spaces/box.js";
import { Discrete } from "../envs/spaces/discrete.js";
import { Rng } from "../random/rng.js";
import { Tensor, tensor } from "../tensor/tensor.js";
import { assertClose } from "../tensor/testing.js";
import type { ActorCriticOptions } from "./actorCritic.js";
import {
  ActorCritic,
  actorWeights,
  nStepSarsaTargets,
  QCriticPolicy,
  qActorLoss,
  sarsaCriticLoss,
  sarsaTargets,
} from "./actorCritic.js";
import { evaluatePolicy } from "./common/evaluation.js";
import { loadPreset } from "./presets.js";

const quick = process.env.PROXIMAL_QUICK ? "slow learning test (PROXIMAL_QUICK set)" : false;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("qActorLoss()", () => {
  test("is -mean(log π · Q) and its gradient is -Q/n", () => {
    const logProb = tensor([Math.log(0.5), Math.log(0.25)]).requireGrad();
    const loss = qActorLoss(logProb, tensor([2, -1]));
    // by hand: -(ln 0.5 · 2 + ln 0.25 · (-1)) / 2 = -(-1.386294 + 1.386294) / 2 = 0
    assertClose([loss.item()], [0], { atol: 1e-6 });
    loss.backward();
    assertClose(logProb.grad!.values, [-1, 0.5], { rtol: 1e-6 });
  });
});

describe("sarsaTargets()", () => {
  test("is R + γ Q(S', A'), with no bootstrap after an episode end", () => {
    // by hand, γ = 0.9: 1 + 0.9 · 10 = 10; the done step keeps its reward (a truncated step's
    // reward already holds its γ·Q(final, a') bootstrap); 0.5 + 0.9 · (-2) = -1.3
    const targets = sarsaTargets(
      Float32Array.of(1, 2, 0.5),
      Uint8Array.of(0, 1, 0),
      Float32Array.of(10, 99, -2),
      0.9,
    );
    assertClose(targets, [10, 2, -1.3], { rtol: 1e-6 });
  });
});

describe("nStepSarsaTargets()", () => {
  test("sums n rewards and bootstraps γ^n Q(S_{t+n}, A_{t+n}), the rollout's end cutting the lookahead", () => {
    // one env, 4 steps, γ = 0.5, n = 2; nextQ[t] = Q(S_{t+1}, A_{t+1}). By hand:
    // t0: 1 + 0.5·2 + 0.25·Q(S2,A2)=20 → 7;  t1: 2 + 0.5·3 + 0.25·30 → 11;  t2: 3 + 0.5·4 + 0.25·40 → 15;
    // t3: only one step left in the rollout: 4 + 0.5·40 → 24
    const targets = nStepSarsaTargets(
      Float32Array.of(1, 2, 3, 4),
      Uint8Array.of(0, 0, 0, 0),
      Float32Array.of(10, 20, 30, 40),
      0.5,
      2,
      1,
    );
    assertClose(targets, [7, 11, 15, 24], { rtol: 1e-6 });
  });

  test("stops at a termination without a bootstrap; a truncation's bootstrap rides in its reward", () => {
    // two envs interleaved (row = t·2 + env), 3 steps, γ = 0.5, n = 3. Both episodes end at t1:
    // env 0 terminates (reward 2, no bootstrap); env 1 is truncated, and the collector has already
    // put γ·Q(final observation, a') = 0.5·6 into its reward: 2 + 3 = 5. By hand:
    // env 0: t0: 1 + 0.5·2 → 2;  t1: 2;  t2: 3 + 0.5·Q(S3,A3)=8 → 7
    // env 1: t0: 1 + 0.5·5 → 3.5;  t1: 5;  t2: 3 + 0.5·80 → 43
    // (the 99s, Q after an episode end, must not be used)
    const targets = nStepSarsaTargets(
      Float32Array.of(1, 1, 2, 5, 3, 3),
      Uint8Array.of(0, 0, 1, 1, 0, 0),
      Float32Array.of(99, 99, 99, 99, 8, 80),
      0.5,
      3,
      2,
    );
    assertClose(targets, [2, 3.5, 2, 5, 7, 43], { rtol: 1e-6 });
  });

  test("with n = 1 it is sarsaTargets", () => {
    const rewards = Float32Array.of(1, 2, 0.5, -1, 3, 0);
    const dones = Uint8Array.of(0, 1, 0, 0, 1, 0);
    const nextQ = Float32Array.of(10, 99, -2, 4, 5, 6);
    assert.deepEqual(
      nStepSarsaTargets(rewards, dones, nextQ, 0.9, 1, 2),
      sarsaTargets(rewards, dones, nextQ, 0.9),
    );
  });

  test("rejects arrays that are not whole rollouts with SHAPE_MISMATCH", () => {
    assert.equal(
      codeOf(() => nStepSarsaTargets(new Float32Array(3), new Uint8Array(3), new Float32Array(3), 0.9, 1, 2)),
      "SHAPE_MISMATCH",
    );
  });
});

describe("actorWeights()", () => {
  test("is Q(S, A), or Q(S, A) - Σ π Q with the expectedQ baseline", () => {
    // rows: Q = [1, 3], π = [0.25, 0.75], A = 0 → V = 0.25 + 2.25 = 2.5, weight 1 - 2.5 = -1.5;
    //       Q = [2, 2], π = [0.5, 0.5],  A = 1 → V = 2, weight 0
    const q = Float32Array.of(1, 3, 2, 2);
    const probs = Float32Array.of(0.25, 0.75, 0.5, 0.5);
    const actions = Int32Array.of(0, 1);
    assertClose(actorWeights(q, probs, actions, 2, "none"), [1, 2], { rtol: 1e-6 });
    assertClose(actorWeights(q, probs, actions, 2, "expectedQ"), [-1.5, 0], { rtol: 1e-6 });
  });
});

describe("sarsaCriticLoss()", () => {
  test("is mean((target - Q)²) and its gradient is -2(target - Q)/n", () => {
    const q = tensor([1, 3]).requireGrad();
    const loss = sarsaCriticLoss(q, tensor([2, 2]));
    // by hand: (1² + 1²) / 2 = 1; gradient [-1, 1]
    assertClose([loss.item()], [1], { rtol: 1e-6 });
    loss.backward();
    assertClose(q.grad!.values, [-1, 1], { rtol: 1e-6 });
  });
});

describe("QCriticPolicy", () => {
  test("outputs one Q-value per action and V = Σ π Q", () => {
    const policy = new QCriticPolicy(new Box(-1, 1, [3]), new Discrete(4), new Rng(0), { netArch: [8] });
    const obs = new Tensor(Float32Array.of(0.1, -0.2, 0.3, 0.5, 0.5, -0.5), [2, 3]);
    const q = policy.qValues(obs);
    assert.deepEqual(q.shape, [2, 4]);
    const probs = policy.distribution(obs).logProb(new Tensor(Int32Array.of(0, 0), [2]));
    assert.equal(probs.shape[0], 2);
    const v = policy.predictValues(obs).values;
    const p = (policy.distribution(obs) as unknown as { probs(): Tensor }).probs().values;
    for (let r = 0; r < 2; r++) {
      let expected = 0;
      for (let a = 0; a < 4; a++) expected += p[r * 4 + a] * q.values[r * 4 + a];
      assertClose([v[r]], [expected], { rtol: 1e-5 });
    }
  });

  test("keeps a target critic out of the trainable parameters, copied and Polyak-averaged on request", () => {
    const policy = new QCriticPolicy(
      new Box(-1, 1, [3]),
      new Discrete(2),
      new Rng(0),
      { netArch: [4] },
      true,
    );
    const target = policy.qCriticTarget!;
    const online = policy.qCritic.parameters();
    const frozen = target.parameters();
    assert.deepEqual(
      frozen.map((p) => Array.from(p.values)),
      online.map((p) => Array.from(p.values)),
    );
    const trainable = new Set(policy.trainableParameters());
    assert.ok(frozen.every((p) => !trainable.has(p)));
    assert.equal(trainable.size, policy.parameters().length - frozen.length);
    assert.ok(policy.namedParameters().some(([name]) => name.startsWith("qCriticTarget.")));
    // θ' ← 0.25 θ + 0.75 θ' with θ = θ' + 4 everywhere gives θ' + 1
    const before = frozen.map((p) => Float32Array.from(p.values));
    for (const p of online) for (let i = 0; i < p.size; i++) p.values[i] += 4;
    policy.updateTarget(0.25);
    for (const [j, p] of frozen.entries()) {
      assertClose(
        p.values,
        Array.from(before[j], (v) => v + 1),
        { atol: 1e-5 },
      );
    }
    // bootstrapQ reads the target network, not the critic
    const obs = new Tensor(Float32Array.of(0.1, -0.2, 0.3), [1, 3]);
    const action = new Tensor(Int32Array.of(1), [1]);
    const expected = target.forward(obs).values[1];
    assertClose(policy.bootstrapQ(obs, action), [expected], { rtol: 1e-6 });
    assert.notEqual(policy.qOfActions(obs, action).values[0], expected);
    // without a target network there is none to save, and bootstrapQ reads the critic
    const plain = new QCriticPolicy(new Box(-1, 1, [3]), new Discrete(2), new Rng(0), { netArch: [4] });
    assert.equal(plain.qCriticTarget, null);
    assert.deepEqual(plain.bootstrapQ(obs, action), plain.qOfActions(obs, action).values);
  });

  test("rejects non-Discrete actions with UNSUPPORTED_SPACE", () => {
    assert.equal(
      codeOf(() => new QCriticPolicy(new Box(-1, 1, [3]), new Box(-2, 2, [1]), new Rng(0))),
      "UNSUPPORTED_SPACE",
    );
    assert.equal(
      codeOf(() => new ActorCritic("Pendulum-v1")),
      "UNSUPPORTED_SPACE",
    );
  });
});

describe("ActorCritic", () => {
  test("rejects bad options with INVALID_OPTION", () => {
    assert.equal(
      codeOf(() => new ActorCritic("CartPole-v1", { nSteps: 0 })),
      "INVALID_OPTION",
    );
    assert.equal(
      codeOf(() => new ActorCritic("CartPole-v1", { gaeLambda: 0.95 } as Record<string, unknown>)),
      "INVALID_OPTION",
    );
    assert.equal(
      codeOf(() => new ActorCritic("CartPole-v1", { policy: { shareTrunk: true } })),
      "INVALID_OPTION",
    );
  });

  test("rejects bad switches with INVALID_OPTION, naming the option", () => {
    const bad: [ActorCriticOptions, RegExp][] = [
      [{ sarsaSteps: 0 }, /sarsaSteps/],
      [{ sarsaSteps: 1.5 }, /sarsaSteps/],
      [{ sarsaSteps: 6 }, /sarsaSteps \(6\) must be <= nSteps \(5\)/],
      [{ targetUpdateInterval: -1 }, /targetUpdateInterval/],
      [{ targetUpdateInterval: 2, tau: 0 }, /tau/],
      [{ targetUpdateInterval: 2, tau: 1.5 }, /tau/],
      [{ tau: 0.5 }, /tau needs a target network/],
      [{ criticUpdates: 0 }, /criticUpdates/],
      [{ criticLearningRate: -1 }, /criticLearningRate/],
      [{ baseline: "mean" as "none" }, /baseline/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new ActorCritic("CartPole-v1", options), { code: "INVALID_OPTION", message });
    }
    // the limits themselves are accepted
    const ok = new ActorCritic("CartPole-v1", { nSteps: 4, sarsaSteps: 4, targetUpdateInterval: 1, tau: 1 });
    assert.equal(ok.sarsaSteps, 4);
    assert.notEqual(ok.policy.qCriticTarget, null);
  });

  test("updates the target network every targetUpdateInterval updates, and only then", async () => {
    const model = new ActorCritic("CartPole-v1", { numEnvs: 2, seed: 3, targetUpdateInterval: 3 });
    const flat = (params: Tensor[]) => params.flatMap((p) => Array.from(p.values));
    const initial = flat(model.policy.qCriticTarget!.parameters());
    const seen: { target: number[]; online: number[] }[] = [];
    await model.learn({
      totalTimesteps: 60, // 6 updates of 2 envs × 5 steps
      onUpdate: () => {
        seen.push({
          target: flat(model.policy.qCriticTarget!.parameters()),
          online: flat(model.policy.qCritic.parameters()),
        });
      },
    });
    assert.equal(seen.length, 6);
    assert.deepEqual(seen[0].target, initial);
    assert.deepEqual(seen[1].target, initial);
    assert.notDeepEqual(seen[1].online, initial);
    assert.deepEqual(seen[2].target, seen[2].online);
    assert.deepEqual(seen[3].target, seen[2].online);
    assert.deepEqual(seen[4].target, seen[2].online);
    assert.notDeepEqual(seen[4].online, seen[2].online);
    assert.deepEqual(seen[5].target, seen[5].online);
  });

  test("gives the critic its own learning rate and extra critic-only steps", async () => {
    const model = new ActorCritic("CartPole-v1", {
      numEnvs: 2,
      seed: 5,
      learningRate: 1e-3,
      criticLearningRate: { schedule: "linear", initial: 4e-3 },
      criticUpdates: 3,
    });
    const critic = new Set(model.policy.qCritic.parameters());
    const actor = model.policy.trainableParameters().filter((p) => !critic.has(p));
    const actorBefore = actor.map((p) => Float32Array.from(p.values));
    const rates: number[] = [];
    await model.learn({
      totalTimesteps: 20,
      onUpdate: (s) => void rates.push(s["train/learningRate"], s["train/criticLearningRate"]),
    });
    // progress remaining is 1 - 10/20 = 0.5 at the first update and 0 at the second
    assertClose(rates, [1e-3, 2e-3, 1e-3, 0], { rtol: 1e-6 });
    // the actor took 2 steps (one per update), the critic 6: RMSprop counts steps per parameter
    const state = (
      model as unknown as { optimizer: { getState(): { json: { steps: Record<string, number> } } } }
    ).optimizer.getState().json.steps;
    const steps = Object.values(state);
    assert.ok(steps.includes(2) && steps.includes(6), JSON.stringify(state));
    assert.ok(actor.some((p, i) => p.values.some((v, j) => v !== actorBefore[i][j])));
  });

  test("save, load and resume are bit-identical with every switch on (options, target net, next action)", async () => {
    const options: ActorCriticOptions = {
      numEnvs: 2,
      seed: 7,
      baseline: "expectedQ",
      sarsaSteps: 3,
      targetUpdateInterval: 2,
      tau: 0.5,
      criticLearningRate: { schedule: "linear", initial: 3e-3 },
      criticUpdates: 2,
    };
    const total = 200;
    const weights = (m: ActorCritic) => Object.values(m.policy.stateDict()).map((t) => Array.from(t.values));
    const straight = new ActorCritic("CartPole-v1", options);
    await straight.learn({ totalTimesteps: total });

    const first = new ActorCritic("CartPole-v1", options);
    await first.learn({ totalTimesteps: total, onUpdate: (s) => s["time/timesteps"] < 90 });
    assert.equal(first.numTimesteps, 90);
    const dir = await mkdtemp(join(tmpdir(), "proximal-actor-critic-"));
    try {
      await first.save(dir);
      const saved = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
      assert.equal(saved.options.sarsaSteps, 3);
      assert.equal(saved.trainingState.nextActions.length, 2);
      const resumed = await ActorCritic.load(dir, { restoreEnv: true });
      assert.equal(resumed.baseline, "expectedQ");
      assert.equal(resumed.sarsaSteps, 3);
      assert.equal(resumed.targetUpdateInterval, 2);
      assert.equal(resumed.tau, 0.5);
      assert.equal(resumed.criticUpdates, 2);
      assert.deepEqual(weights(resumed), weights(first));
      await resumed.learn({ totalTimesteps: total, resetNumTimesteps: false });
      assert.equal(resumed.numTimesteps, straight.numTimesteps);
      assert.equal(resumed.iteration, straight.iteration);
      assert.deepEqual(weights(resumed), weights(straight));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("is deterministic per seed and reports the shared train/ keys", async () => {
    const run = async () => {
      const model = new ActorCritic("CartPole-v1", { numEnvs: 2, seed: 4 });
      const losses: number[] = [];
      await model.learn({ totalTimesteps: 100, onUpdate: (s) => void losses.push(s["train/loss"]) });
      return { losses, model };
    };
    const a = await run();
    const b = await run();
    assert.deepEqual(a.losses, b.losses);
    assert.equal(a.losses.length, 10);
    const names = a.model.policy.namedParameters().map(([name]) => name);
    assert.ok(names.includes("qCritic.layers.2.weight"));
  });

  test("learns CartPole-v1 in 100k steps", { skip: quick }, async () => {
    // The Q-weighted actor has no baseline and is the weakest learner here. Measured after 100k steps
    // (8 envs, entCoef 0.01), deterministic eval: 82 / 115 / 80 / 9 for seeds 0-3 (seed 3 collapses
    // to one action); training is deterministic per seed, so seed 1 is a stable check. Random ≈ 22.
    const model = new ActorCritic("CartPole-v1", { numEnvs: 8, seed: 1 });
    await model.learn({ totalTimesteps: 100_000 });
    const { meanReturn } = await evaluatePolicy(model, "CartPole-v1", { episodes: 10, seed: 100 });
    assert.ok(meanReturn > 60, `mean return ${meanReturn}`);
  });

  test("the tuned preset solves CartPole-v1 in 60k steps where the defaults do not", {
    skip: quick,
  }, async () => {
    // presets/actorcritic/tuned.yaml (expected-Q baseline, 5-step SARSA, critic lr 3e-3, actor lr
    // 7e-4 → 0) over a shorter budget, so its linear schedule anneals over 60k steps. Measured
    // (deterministic eval): tuned 500 / 500 / 499.9 on seeds 1, 3, 4; defaults (8 envs) 385.8 / 9.3
    // / 52.6. Seed 3 is the check; the full 300k, 3-seed figure is in BENCHMARKS.md.
    const { options } = await loadPreset("tuned", "CartPole-v1", "ActorCritic");
    const evaluate = async (opts: Record<string, unknown>) => {
      const model = new ActorCritic("CartPole-v1", { ...opts, seed: 3 });
      await model.learn({ totalTimesteps: 60_000 });
      return (await evaluatePolicy(model, "CartPole-v1", { episodes: 10, seed: 100, deterministic: true }))
        .meanReturn;
    };
    const tuned = await evaluate(options);
    assert.ok(tuned >= 475, `tuned: mean return ${tuned}`);
    const defaults = await evaluate({ numEnvs: 8 });
    assert.ok(defaults < 200, `defaults: mean return ${defaults}`);
  });
});
