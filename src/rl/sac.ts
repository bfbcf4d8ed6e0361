/**
 * Soft Actor-Critic (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications",
 * arXiv:1812.05905; the first version is arXiv:1801.01290).
 *
 * Maximum-entropy RL with a stochastic actor `ã = tanh(μ(s) + σ(s) ε)`, `ε ~ N(0, I)`
 * (reparameterised, §4.2), whose log-density carries the tanh correction
 * `log π(ã|s) = log N(u; μ, σ) − Σ_i log(1 − tanh(u_i)²)` (App. C, eq. 26), and twin critics (§5):
 * - critics: `½ mean (Q_j(s, a) − y)²`, `y = r + γ^k (1 − terminated)(min_j Q'_j(s', a') − α log π(a'|s'))`,
 *   `a' ~ π(·|s')` (eqs. 3, 5);
 * - actor: `mean(α log π(ã|s) − min_j Q_j(s, ã))` (eq. 7);
 * - temperature (`entCoef: "auto"`): `−mean log α (log π(ã|s) + H̄)`, target entropy H̄ = −dim(A)
 *   (§5, eq. 18), learned on log α;
 * - the target critics track the critics by Polyak averaging; there is no target actor.
 *
 * Follows Stable-Baselines3's `SAC` (`sac/sac.py`, `sac/policies.py`): the same defaults, the same
 * order within a gradient step (temperature, critics, actor, targets), log σ clamped to [−20, 2],
 * actions scaled to the env's bounds, `entCoef` "auto", "auto_<initial α>" or a number. Differences:
 * the tanh correction is the exact `2 (log 2 − u − softplus(−2u))` where SB3 adds 1e-6 inside the
 * log; no gSDE (`use_sde`); with the MLP feature extractor, SB3's `share_features_extractor` has no
 * parameters to share, so actor and critics are always separate networks, as SB3's SAC default.
 */

import type { Box } from "../envs/spaces/box.js";
import type { Space } from "../envs/spaces/space.js";
import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { Module } from "../nn/module.js";
import { Adam } from "../optim/adam.js";
import type { Rng } from "../random/rng.js";
import * as ops from "../tensor/ops.js";
import { noGrad, Tensor } from "../tensor/tensor.js";
import { clipUnit, scaleAction, unscaleAction } from "./common/actionScaling.js";
import {
  clippedDoubleQTargets,
  continuousCriticLoss,
  entCoefLoss,
  LOG_STD_MAX,
  LOG_STD_MIN,
  sacActorLoss,
  squashedGaussianAction,
  squashedGaussianSample,
} from "./common/continuousLosses.js";
import type { ContinuousPolicyOptions } from "./common/continuousPolicies.js";
import {
  ContinuousCritic,
  continuousSizes,
  resolvePolicyOptions,
  rowsTensor,
  SquashedGaussianActor,
  targetCopy,
  updateTargetModule,
} from "./common/continuousPolicies.js";
import { continuousActionSpace, refusePrioritized } from "./common/deterministicActorCritic.js";
import type { OffPolicyOptions } from "./common/offPolicyAlgorithm.js";
import { loadOffPolicyAlgorithm, OffPolicyAlgorithm } from "./common/offPolicyAlgorithm.js";
import type { EnvInput, LoadOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { checkInteger } from "./common/onPolicyAlgorithm.js";
import { scopedGradientStep } from "./common/scopedGradientStep.js";

export type { ContinuousPolicyOptions } from "./common/continuousPolicies.js";

/**
 * Options of {@link SAC}; the shared options are in {@link OffPolicyOptions}. Defaults are SB3's
 * `SAC`: learningRate 3e-4, bufferSize 1_000_000, learningStarts 100, batchSize 256, tau 0.005,
 * gamma 0.99, trainFreq 1, gradientSteps 1, entCoef "auto", targetEntropy "auto" (−dim(A)),
 * targetUpdateInterval 1, netArch [256, 256], ReLU, Adam with PyTorch's defaults.
 */
export interface SACOptions extends OffPolicyOptions {
  /**
   * Entropy coefficient α: "auto" learns log α from α = 1, "auto_<α₀>" (e.g. "auto_0.1") from α₀,
   * a number fixes it (Haarnoja et al. 2018, arXiv:1812.05905, §5). @defaultValue "auto" (SB3)
   */
  entCoef?: number | "auto" | `auto_${number}`;
  /** Target entropy H̄ of the automatic temperature; "auto" is −dim(A). @defaultValue "auto" (SB3) */
  targetEntropy?: number | "auto";
  /** Polyak-update the target critics every this many gradient steps of a training phase. @defaultValue 1 (SB3) */
  targetUpdateInterval?: number;
  /** Actor and critic architecture. */
  policy?: ContinuousPolicyOptions;
}

/**
 * SAC's networks (SB3 `SACPolicy`): `actor`, `critic` (two Q-networks), `criticTarget` and, with an
 * automatic temperature, the parameter `logEntCoef` [1]. State dict: `actor.*`, `critic.*`,
 * `criticTarget.*`, `logEntCoef`.
 */
export class SACPolicy extends Module {
  readonly observationSize: number;
  readonly actionDim: number;
  readonly options: Required<ContinuousPolicyOptions>;
  readonly actor: SquashedGaussianActor;
  readonly critic: ContinuousCritic;
  readonly criticTarget: ContinuousCritic;
  /** log α when the temperature is learned, else null. */
  readonly logEntCoef: Tensor | null;

  constructor(
    observationSpace: Space,
    actionSpace: Box,
    rng: Rng,
    options: ContinuousPolicyOptions | undefined,
    initialEntCoef: number | null,
  ) {
    super();
    this.options = resolvePolicyOptions(options, [256, 256]);
    const { observationSize, actionDim } = continuousSizes(observationSpace, actionSpace);
    this.observationSize = observationSize;
    this.actionDim = actionDim;
    this.actor = this.registerModule(
      "actor",
      new SquashedGaussianActor(observationSize, actionDim, rng, this.options),
    );
    this.critic = this.registerModule(
      "critic",
      new ContinuousCritic(observationSize, actionDim, 2, rng, this.options),
    );
    this.criticTarget = this.registerModule(
      "criticTarget",
      targetCopy(
        this.critic,
        () => new ContinuousCritic(observationSize, actionDim, 2, rng.spawn(), this.options),
      ),
    );
    this.logEntCoef =
      initialEntCoef === null
        ? null
        : this.registerParameter("logEntCoef", new Tensor(Float32Array.of(Math.log(initialEntCoef)), [1]));
  }
}

/** Parse `entCoef`: the initial α of a learned temperature, or a fixed α. */
export function parseEntCoef(value: SACOptions["entCoef"]): { learned: boolean; value: number } {
  if (typeof value === "number") {
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `entCoef must be >= 0, "auto" or "auto_<initial>", got ${value}.`,
      );
    }
    return { learned: false, value };
  }
  if (value === "auto") return { learned: true, value: 1 };
  const match = typeof value === "string" ? /^auto_(.+)$/.exec(value) : null;
  const initial = match === null ? Number.NaN : Number(match[1]);
  if (!(initial > 0) || !Number.isFinite(initial)) {
    throw new ProximalError(
      "INVALID_OPTION",
      `entCoef must be a number >= 0, "auto" or "auto_<initial α > 0>" (e.g. "auto_0.1"), got ${JSON.stringify(value)}.`,
    );
  }
  return { learned: true, value: initial };
}

/**
 * SAC with SB3's defaults.
 *
 * @example
 * const model = new SAC("Pendulum-v1", { learningRate: 1e-3, seed: 0 });
 * await model.learn({ totalTimesteps: 20_000 });
 * const actions = model.predict(observations, { deterministic: true }); // in the env's units
 */
export class SAC extends OffPolicyAlgorithm {
  readonly algorithmName = "SAC";
  readonly options: SACOptions;
  readonly policy: SACPolicy;
  /** Target entropy H̄ (used when the temperature is learned). */
  readonly targetEntropy: number;
  readonly targetUpdateInterval: number;
  /** The fixed α, or null when it is learned (`policy.logEntCoef`). */
  readonly fixedEntCoef: number | null;
  /** One Adam over actor (group 0), critics (1) and log α (2), stepped one module at a time. */
  protected readonly optimizer: Adam;
  private readonly boxSpace: Box;

  constructor(env: EnvInput, options: SACOptions = {}) {
    super(env, options, {
      learningRate: 3e-4,
      bufferSize: 1_000_000,
      learningStarts: 100,
      batchSize: 256,
      tau: 0.005,
      gamma: 0.99,
      trainFreq: 1,
      gradientSteps: 1,
    });
    this.options = options;
    this.boxSpace = continuousActionSpace(this.actionSpace, "SAC");
    refusePrioritized(options, "SAC");
    const entCoef = parseEntCoef(options.entCoef ?? "auto");
    this.fixedEntCoef = entCoef.learned ? null : entCoef.value;
    const targetEntropy = options.targetEntropy ?? "auto";
    if (targetEntropy !== "auto" && !(typeof targetEntropy === "number" && Number.isFinite(targetEntropy))) {
      throw new ProximalError(
        "INVALID_OPTION",
        `targetEntropy must be "auto" (−dim(A)) or a number, got ${JSON.stringify(targetEntropy)}.`,
      );
    }
    this.targetEntropy = targetEntropy === "auto" ? -this.boxSpace.size : targetEntropy;
    this.targetUpdateInterval = options.targetUpdateInterval ?? 1;
    checkInteger(this.targetUpdateInterval, "targetUpdateInterval", 1);
    this.policy = new SACPolicy(
      this.env.singleObservationSpace,
      this.boxSpace,
      this.rng.spawn(),
      options.policy,
      entCoef.learned ? entCoef.value : null,
    );
    const groups = [{ params: this.policy.actor.parameters() }, { params: this.policy.critic.parameters() }];
    if (this.policy.logEntCoef !== null) groups.push({ params: [this.policy.logEntCoef] });
    // SB3 gives actor, critic and log α their own Adam (all on the same lr schedule); one Adam with a
    // group each keeps per-parameter state identical, as long as one module holds gradients per step
    this.optimizer = new Adam(groups, { lr: this.learningRate(1) });
  }

  /** α now: exp(log α) when learned, else the fixed value. */
  get entCoef(): number {
    return this.policy.logEntCoef === null ? this.fixedEntCoef! : Math.exp(this.policy.logEntCoef.values[0]);
  }

  /** Standard normal draws for `n` values from the training generator. */
  private normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.rng.normal();
    return out;
  }

  protected explore(observations: Float32Array): Float32Array {
    return this.predict(observations, { deterministic: false });
  }

  protected override bufferActions(actions: Int32Array | Float32Array): Float32Array {
    return clipUnit(scaleAction(actions, this.boxSpace));
  }

  /** Targets move in `train` (SB3: every `target_update_interval` gradient steps). */
  protected onStep(): void {}

  protected train(gradientSteps: number): UpdateStats {
    const lr = this.updateLearningRate();
    const policy = this.policy;
    const d = policy.actionDim;
    const obsSize = policy.observationSize;
    const sums = { critic: 0, actor: 0, entCoef: 0, entCoefLoss: 0, q: 0, logProb: 0 };
    for (let step = 0; step < gradientSteps; step++) {
      scopedGradientStep(this.optimizer, () => {
        const batch = this.sampleReplay();
        const b = batch.size;
        const obs = rowsTensor(batch.observations, b, obsSize, "observations");
        const nextObs = rowsTensor(batch.nextObservations, b, obsSize, "next observations");
        const head = policy.actor.forward(obs);
        const pi = squashedGaussianSample(head.mean, head.logStd, this.normals(b * d));
        const logProb = pi.logProb.values;

        // temperature first, with log π as a constant; the α of this step is the value before its update
        const alpha = this.entCoef;
        if (policy.logEntCoef !== null) {
          const lossAlpha = entCoefLoss(policy.logEntCoef, logProb, this.targetEntropy);
          this.optimizer.zeroGrad();
          lossAlpha.backward();
          this.optimizer.step();
          sums.entCoefLoss += lossAlpha.item();
        }

        const targets = noGrad(() => {
          const nextHead = policy.actor.forward(nextObs);
          const next = squashedGaussianSample(nextHead.mean, nextHead.logStd, this.normals(b * d));
          const nextQ = policy.criticTarget.forward(nextObs, next.actions).map((q) => q.values);
          return clippedDoubleQTargets({
            rewards: batch.rewards,
            dones: batch.dones,
            steps: batch.steps,
            nextQ,
            nextLogProb: next.logProb.values,
            entCoef: alpha,
            gamma: this.gamma,
          });
        });
        const actions = rowsTensor(batch.actions as Float32Array, b, d, "actions");
        const q = policy.critic.forward(obs, actions);
        const lossQ = continuousCriticLoss(q, new Tensor(targets, [b]), 0.5);
        this.optimizer.zeroGrad();
        lossQ.backward();
        this.optimizer.step();

        const lossPi = sacActorLoss(pi.logProb, policy.critic.forward(obs, pi.actions), alpha);
        this.optimizer.zeroGrad();
        lossPi.backward();
        // the actor loss also reaches the critics' weights; only the actor steps on it
        policy.critic.zeroGrad();
        this.optimizer.step();

        if (step % this.targetUpdateInterval === 0)
          updateTargetModule(policy.critic, policy.criticTarget, this.tau);

        sums.critic += lossQ.item();
        sums.actor += lossPi.item();
        sums.entCoef += alpha;
        const q1 = q[0].values;
        for (let i = 0; i < b; i++) {
          sums.q += q1[i] / b;
          sums.logProb += logProb[i] / b;
        }
      });
    }
    this.nUpdates += gradientSteps;
    const n = gradientSteps;
    const stats: UpdateStats = {
      "train/loss": sums.critic / n,
      "train/criticLoss": sums.critic / n,
      "train/actorLoss": sums.actor / n,
      "train/entCoef": sums.entCoef / n,
      "train/entropy": -sums.logProb / n,
      "train/qValue": sums.q / n,
      "train/learningRate": lr,
      "train/nUpdates": this.nUpdates,
    };
    if (policy.logEntCoef !== null) stats["train/entCoefLoss"] = sums.entCoefLoss / n;
    return stats;
  }

  /**
   * Actions in the env's units for observations `[batch * obsSize]`: `tanh(μ(s))` when
   * `deterministic`, else a sample `tanh(μ + σ ε)` from the training generator; rescaled to the
   * action bounds (SB3 `predict`).
   */
  predict(
    observations: Float32Array,
    options: { deterministic?: boolean; actionMask?: Uint8Array } = {},
  ): Float32Array {
    const policy = this.policy;
    const size = policy.observationSize;
    const batch = observations.length / size;
    if (!Number.isInteger(batch)) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `predict: ${observations.length} values is not a whole number of observations of size ${size}. Pass the observation array itself, not Gymnasium's (obs, info) pair.`,
      );
    }
    const scaled = noGrad(() => {
      const head = policy.actor.forward(rowsTensor(observations, batch, size, "actor"));
      if (options.deterministic ?? false) return ops.tanh(head.mean).values;
      return squashedGaussianAction(head.mean, head.logStd, this.normals(batch * policy.actionDim)).values;
    });
    return unscaleAction(scaled, this.boxSpace);
  }

  /** Rebuild a SAC model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB) (with its replay buffer when `saveReplayBuffer` was set). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<SAC> {
    return loadOffPolicyAlgorithm((env, opts) => new SAC(env, opts as SACOptions), source, options);
  }
}

export { LOG_STD_MAX, LOG_STD_MIN };
