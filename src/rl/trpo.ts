/**
 * Trust Region Policy Optimization (Schulman et al. 2015, https://arxiv.org/abs/1502.05477).
 *
 * Each update solves the trust-region problem of §6, eq. 14, with the sample-based estimates of
 * §5 and the "single path" procedure of §5.1/appendix C:
 * ```
 * maximize_θ  L(θ) = E[π_θ(a|s) / π_old(a|s) · A]   subject to   KL̄(π_old || π_θ) ≤ δ
 * ```
 * 1. `g = ∇_θ L` at θ_old; the Fisher matrix `F` is the Hessian of the mean KL at θ_old (appendix C).
 * 2. `s ≈ F⁻¹ g` by {@link conjugateGradient} on {@link fisherVectorProduct}s, `Fv + damping·v`
 *    (each a double backward through the policy, never forming `F`).
 * 3. Largest step on the quadratic model of the KL: `β = sqrt(2δ / sᵀFs)` (appendix C).
 * 4. {@link backtrackingLineSearch}: try `θ_old + β·ρ^k·s` for k = 0, 1, ..., accepting the first
 *    that improves `L` and keeps the exact KL within δ; otherwise keep θ_old.
 * 5. The value function `V(s)` is then fitted to the GAE λ-returns by Adam minibatches (the GAE
 *    paper, Schulman et al. 2016, arXiv:1506.02438, fitted V under a trust region too; here, as in
 *    SB3-contrib, plain Adam).
 *
 * Matches SB3-contrib's `TRPO` (Stable-Baselines-Team/stable-baselines3-contrib,
 * `sb3_contrib/trpo/trpo.py`): its defaults (critic learning rate 1e-3, nSteps 2048, batchSize 128
 * for the critic, cgMaxSteps 15, cgDamping 0.1, lineSearchShrinkingFactor 0.8,
 * lineSearchMaxIter 10, nCriticUpdates 10, gaeLambda 0.95, normalizeAdvantage, targetKl 0.01,
 * subSamplingFactor 1), the full-batch policy step, the strict-improvement line search that
 * restores the old parameters on failure, and the critic update that never moves the actor's
 * parameters. It differs in three small ways, each noted where it happens: the KL is the paper's
 * `KL(π_old || π_θ)` (SB3-contrib uses `KL(π_θ || π_old)`; both have the Fisher matrix as their
 * Hessian at θ_old), the line search accepts `KL ≤ δ` (SB3-contrib: `<`), and conjugate gradient
 * starts from zero (SB3-contrib: 1e-4 Gaussian noise), so an update needs no random draws.
 * Rollouts, GAE and the learn loop come from {@link OnPolicyAlgorithm}.
 */

import { Categorical } from "../distributions/categorical.js";
import { DiagGaussian } from "../distributions/diagGaussian.js";
import type { Distribution } from "../distributions/distribution.js";
import { MultiCategorical } from "../distributions/multiCategorical.js";
import { ProximalError } from "../errors.js";
import type { ModelSource } from "../io/modelFiles.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clipGradNorm.js";
import * as ops from "../tensor/ops.js";
import type { Tensor } from "../tensor/tensor.js";
import { grad, noGrad, tensor } from "../tensor/tensor.js";
import { explainedVariance, normalizeInPlace } from "./common/gae.js";
import type { EnvInput, LoadOptions, OnPolicyOptions, UpdateStats } from "./common/onPolicyAlgorithm.js";
import { loadAlgorithm, OnPolicyAlgorithm } from "./common/onPolicyAlgorithm.js";

/**
 * Options specific to {@link TRPO}; shared fields live in {@link OnPolicyOptions}. TRPO changes
 * these shared defaults (SB3-contrib `trpo.py`):
 * - `learningRate`: the value function's Adam learning rate (the policy takes no gradient steps).
 *   Defaults to `1e-3` instead of PPO's `3e-4`.
 * - `maxGradNorm`: clips the critic's gradient only. Defaults to `Infinity` (no clipping, as
 *   SB3-contrib, which never clips in TRPO).
 * - `entCoef` and `vfCoef` do not apply (no entropy bonus; the critic has its own optimizer): a
 *   non-zero `entCoef` or any `vfCoef` is rejected.
 */
export interface TRPOOptions extends OnPolicyOptions {
  /** Minibatch size of the value-function fit (the policy step always uses the whole rollout). @defaultValue 128 (SB3-contrib) */
  batchSize?: number;
  /** Maximum conjugate-gradient iterations for `s ≈ F⁻¹ g`. @defaultValue 15 (SB3-contrib; the paper's experiments use 10, Schulman et al. 2015, arXiv:1502.05477, Appendix C) */
  cgMaxSteps?: number;
  /** Damping λ added to the Fisher matrix, `(F + λI) v`, for a well-conditioned solve. @defaultValue 0.1 (SB3-contrib; OpenAI Baselines' `trpo_mpi` `cg_damping`) */
  cgDamping?: number;
  /** Factor ρ by which the line search shrinks the step, `θ_old + β ρ^k s`. @defaultValue 0.8 (SB3-contrib) */
  lineSearchShrinkingFactor?: number;
  /** Maximum step sizes the line search tries before keeping θ_old. @defaultValue 10 (SB3-contrib) */
  lineSearchMaxIter?: number;
  /** Passes of the value-function fit over each rollout. @defaultValue 10 (SB3-contrib) */
  nCriticUpdates?: number;
  /** Trust-region size δ: the maximum mean `KL(π_old || π_θ)` of one update (eq. 14). @defaultValue 0.01 (SB3-contrib, the paper's §8) */
  targetKl?: number;
  /**
   * Use every k-th transition of the rollout for the policy step, for speed (Schulman's PhD thesis,
   * pp. 40–42, as cited by SB3-contrib). @defaultValue 1 (SB3-contrib
   * `sub_sampling_factor`)
   */
  subSamplingFactor?: number;
}

// ---------------------------------------------------------------------------------------------
// the math of one update, as pure functions

/** Result of {@link conjugateGradient}. */
export interface ConjugateGradientResult {
  /** The approximate solution x of `A x = b`. */
  x: Float64Array;
  /** `‖r‖` of the last (recursively updated) residual `r = b - A x`. */
  residualNorm: number;
  /** Matrix-vector products used. */
  iterations: number;
}

/**
 * Solve `A x = b` for a symmetric positive-definite `A` given only as `v ↦ A v` (Hestenes–Stiefel
 * conjugate gradient; Shewchuk 1994, "An Introduction to the Conjugate Gradient Method Without the
 * Agonizing Pain", B2). Starts from x = 0 and stops after `maxIter` products or once
 * `‖r‖² < residualTol` (the squared-norm test of Schulman's `modular_rl` and SB3-contrib). Also stops
 * if `pᵀAp ≤ 0` (A not positive definite along p), returning the iterate so far.
 *
 * @example
 * const { x } = conjugateGradient((v) => Float64Array.of(4 * v[0] + v[1], v[0] + 3 * v[1]), Float64Array.of(1, 2), 10);
 * // x ≈ [1/11, 7/11]
 */
export function conjugateGradient(
  matVec: (v: Float64Array) => Float64Array,
  b: ArrayLike<number>,
  maxIter: number,
  residualTol = 1e-10,
): ConjugateGradientResult {
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = dot(r, r);
  let iterations = 0;
  while (iterations < maxIter && rr >= residualTol) {
    const ap = matVec(p);
    iterations++;
    const pAp = dot(p, ap);
    if (!(pAp > 0)) break;
    const alpha = rr / pAp;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * ap[i];
    }
    const rrNext = dot(r, r);
    const beta = rrNext / rr;
    rr = rrNext;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
  }
  return { x, residualNorm: Math.sqrt(rr), iterations };
}

/**
 * The damped Fisher-vector product `v ↦ F v + damping·v` of a policy, from the mean KL between a
 * detached copy of the old distribution and the current one, `kl = mean KL(π_old || π_θ)`:
 * ```
 * F v = ∇_θ ( (∇_θ KL) · v )          (Schulman et al. 2015, appendix C.1)
 * ```
 * At θ = θ_old the KL's gradient is zero but its Hessian is the Fisher matrix, so the first
 * gradient is taken once with `createGraph` and differentiated again for each v. Every product
 * keeps the graph (`retainGraph`), since conjugate gradient differentiates the same gradient many
 * times; it is released when the returned function is dropped.
 *
 * @param kl - scalar mean KL, built from the parameters `params` (not under `noGrad`)
 * @param params - the policy parameters θ, in the order the flat vectors use
 * @param damping - λ of `(F + λI) v` @defaultValue in TRPO: 0.1
 */
export function fisherVectorProduct(
  kl: Tensor,
  params: Tensor[],
  damping: number,
): (v: Float64Array) => Float64Array {
  const klGradient = grad(kl, params, { createGraph: true });
  const size = params.reduce((n, p) => n + p.size, 0);
  return (v: Float64Array): Float64Array => {
    if (v.length !== size) {
      throw new ProximalError(
        "SHAPE_MISMATCH",
        `fisherVectorProduct: the vector has ${v.length} entries, the parameters ${size}.`,
      );
    }
    let offset = 0;
    let gradientDotV: Tensor | null = null;
    for (const g of klGradient) {
      const piece = tensor(Float32Array.from(v.subarray(offset, offset + g.size)), g.shape);
      offset += g.size;
      const term = ops.sum(ops.mul(g, piece));
      gradientDotV = gradientDotV === null ? term : ops.add(gradientDotV, term);
    }
    const fv = flatten(grad(gradientDotV!, params, { retainGraph: true }));
    for (let i = 0; i < size; i++) fv[i] += damping * v[i];
    return fv;
  };
}

/**
 * A copy of a distribution cut from the graph: π_old of `KL(π_old || π_θ)`. Evaluating the policy
 * under `noGrad` is not enough: a Gaussian policy's state-independent `logStd` is the parameter
 * itself, not an op result, so it would still carry gradients, the log-std terms of the KL would
 * cancel identically, and the Fisher matrix would lose its `2·I` log-std block.
 */
export function detachedDistribution(distribution: Distribution): Distribution {
  if (distribution instanceof Categorical) return new Categorical(distribution.logProbs.detach());
  if (distribution instanceof DiagGaussian) {
    return new DiagGaussian(distribution.mean.detach(), distribution.logStd.detach());
  }
  if (distribution instanceof MultiCategorical) {
    const logProbs = distribution.components.map((c) => c.logProbs.detach());
    return new MultiCategorical(
      noGrad(() => ops.concat(logProbs, 1)),
      distribution.nvec,
    );
  }
  throw new ProximalError(
    "UNSUPPORTED_SPACE",
    `TRPO cannot detach a ${distribution.constructor.name}; it supports Categorical, DiagGaussian and MultiCategorical policies.`,
  );
}

/**
 * The importance-sampled surrogate objective `L(θ) = E[π_θ(a|s) / π_old(a|s) · A]` (eq. 14; its
 * gradient at θ_old is the policy gradient).
 */
export function surrogateObjective(logProb: Tensor, oldLogProbs: Tensor, advantages: Tensor): Tensor {
  return ops.mean(ops.mul(ops.exp(ops.sub(logProb, oldLogProbs)), advantages));
}

/** The largest step along s that the quadratic KL model allows: `β = sqrt(2δ / sᵀFs)` (appendix C). */
export function maxStepSize(sFs: number, targetKl: number): number {
  return Math.sqrt((2 * targetKl) / sFs);
}

/** Options of {@link backtrackingLineSearch}. */
export interface LineSearchOptions {
  /** The full step size β to start from. */
  maxStep: number;
  /** ρ: each rejected step size is multiplied by it. */
  shrinkingFactor: number;
  /** Step sizes to try. */
  maxIter: number;
  /** δ: a step is accepted only if its KL is at most this. */
  targetKl: number;
}

/** Result of {@link backtrackingLineSearch}. */
export interface LineSearchResult {
  success: boolean;
  /** Step sizes evaluated (1 when the full step is accepted). */
  steps: number;
  /** The accepted step size `β ρ^k` (0 on failure). */
  stepSize: number;
  /** Objective and KL at the accepted step (the starting objective and 0 on failure). */
  objective: number;
  kl: number;
}

/**
 * Backtracking line search of TRPO (appendix C): for k = 0 … maxIter−1, evaluate the step size
 * `β ρ^k` with `tryStep` (which moves the parameters to `θ_old + size·s` and returns the surrogate
 * and the mean KL there) and accept the first one with `objective > objectiveBefore` and
 * `kl ≤ targetKl`. The caller restores θ_old when it fails. (SB3-contrib accepts `kl < targetKl`;
 * the paper's constraint is `≤`.)
 *
 * @example
 * // objective 1 - (x - 1)², KL x²/2: the full step 2 overshoots, 2·0.8 = 1.6 improves, but its KL 1.28 > 1
 * backtrackingLineSearch((x) => ({ objective: 1 - (x - 1) ** 2, kl: (x * x) / 2 }), 0,
 *   { maxStep: 2, shrinkingFactor: 0.8, maxIter: 10, targetKl: 1 }); // steps 3, stepSize 1.28
 */
export function backtrackingLineSearch(
  tryStep: (stepSize: number) => { objective: number; kl: number },
  objectiveBefore: number,
  options: LineSearchOptions,
): LineSearchResult {
  let stepSize = options.maxStep;
  for (let k = 0; k < options.maxIter; k++) {
    const { objective, kl } = tryStep(stepSize);
    if (objective > objectiveBefore && kl <= options.targetKl) {
      return { success: true, steps: k + 1, stepSize, objective, kl };
    }
    stepSize *= options.shrinkingFactor;
  }
  return { success: false, steps: options.maxIter, stepSize: 0, objective: objectiveBefore, kl: 0 };
}

// ---------------------------------------------------------------------------------------------
// the algorithm

/**
 * TRPO with SB3-contrib's defaults. The policy moves only by the natural-gradient step; the critic
 * (`critic.*` parameters with separate networks) is fitted by Adam.
 *
 * With `policy: { shareTrunk: true }`, the shared trunk belongs to the actor: it moves only with
 * the trust-region step, and the critic's Adam trains the value head alone (`valueHead.*`), so a
 * critic update can never change the policy behind the KL constraint's back. This is what
 * SB3-contrib does (it drops the actor parameters' gradients before each critic step); separate
 * networks (the default) are recommended.
 *
 * @example
 * const model = new TRPO("CartPole-v1", { seed: 1, nSteps: 1024 });
 * await model.learn({ totalTimesteps: 50_000 });
 */
export class TRPO extends OnPolicyAlgorithm {
  readonly algorithmName = "TRPO";
  readonly batchSize: number;
  readonly cgMaxSteps: number;
  readonly cgDamping: number;
  readonly lineSearchShrinkingFactor: number;
  readonly lineSearchMaxIter: number;
  readonly nCriticUpdates: number;
  readonly targetKl: number;
  readonly subSamplingFactor: number;
  /** The value function's optimizer (the critic's parameters only). */
  protected readonly optimizer: Adam;
  /** Parameters the trust-region step moves (everything except the critic's). */
  readonly actorParameters: Tensor[];
  /** Parameters the Adam value fit moves. */
  readonly criticParameters: Tensor[];
  /** The options as given (for saving). */
  readonly options: TRPOOptions;

  constructor(env: EnvInput, options: TRPOOptions = {}) {
    super(env, options, {
      learningRate: 1e-3,
      nSteps: 2048,
      gamma: 0.99,
      gaeLambda: 0.95,
      entCoef: 0,
      vfCoef: 0,
      maxGradNorm: Number.POSITIVE_INFINITY,
      normalizeAdvantage: true,
    });
    this.options = options;
    if (options.entCoef !== undefined && options.entCoef !== 0) {
      throw new ProximalError(
        "INVALID_OPTION",
        `TRPO has no entropy bonus (SB3-contrib fixes ent_coef = 0), got entCoef ${options.entCoef}. Remove entCoef.`,
      );
    }
    if (options.vfCoef !== undefined) {
      throw new ProximalError(
        "INVALID_OPTION",
        `TRPO fits the value function with its own optimizer, so vfCoef does not apply (got ${options.vfCoef}). Remove vfCoef; learningRate sets the critic's step size.`,
      );
    }
    this.batchSize = options.batchSize ?? 128;
    this.cgMaxSteps = options.cgMaxSteps ?? 15;
    this.cgDamping = options.cgDamping ?? 0.1;
    this.lineSearchShrinkingFactor = options.lineSearchShrinkingFactor ?? 0.8;
    this.lineSearchMaxIter = options.lineSearchMaxIter ?? 10;
    this.nCriticUpdates = options.nCriticUpdates ?? 10;
    this.targetKl = options.targetKl ?? 0.01;
    this.subSamplingFactor = options.subSamplingFactor ?? 1;
    for (const [name, value] of [
      ["batchSize", this.batchSize],
      ["cgMaxSteps", this.cgMaxSteps],
      ["lineSearchMaxIter", this.lineSearchMaxIter],
      ["nCriticUpdates", this.nCriticUpdates],
      ["subSamplingFactor", this.subSamplingFactor],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ProximalError("INVALID_OPTION", `${name} must be a positive integer, got ${value}.`);
      }
    }
    if (this.batchSize > this.rolloutSize) {
      throw new ProximalError(
        "INVALID_OPTION",
        `batchSize (${this.batchSize}) is larger than the rollout (nSteps * numEnvs = ${this.nSteps} * ${this.env.numEnvs} = ${this.rolloutSize}). Lower batchSize or raise nSteps.`,
      );
    }
    const policyRows = Math.ceil(this.rolloutSize / this.subSamplingFactor);
    if (this.normalizeAdvantage && policyRows < 2) {
      throw new ProximalError(
        "INVALID_OPTION",
        `normalizeAdvantage needs at least 2 transitions in the policy step, got ${policyRows} (nSteps * numEnvs = ${this.rolloutSize}, subSamplingFactor ${this.subSamplingFactor}). Raise nSteps or set normalizeAdvantage false.`,
      );
    }
    if (!(this.cgDamping >= 0)) {
      throw new ProximalError("INVALID_OPTION", `cgDamping must be >= 0, got ${this.cgDamping}. Try 0.1.`);
    }
    if (!(this.lineSearchShrinkingFactor > 0 && this.lineSearchShrinkingFactor < 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `lineSearchShrinkingFactor must be in (0, 1), got ${this.lineSearchShrinkingFactor}. Try 0.8.`,
      );
    }
    if (!(this.targetKl > 0)) {
      throw new ProximalError("INVALID_OPTION", `targetKl must be > 0, got ${this.targetKl}. Try 0.01.`);
    }
    const named = this.policy.namedParameters();
    const isCritic = (name: string) => name.startsWith("critic.") || name.startsWith("valueHead.");
    this.actorParameters = named.filter(([name]) => !isCritic(name)).map(([, p]) => p);
    this.criticParameters = named.filter(([name]) => isCritic(name)).map(([, p]) => p);
    // Adam with eps 1e-5, as SB3's ActorCriticPolicy builds the optimizer SB3-contrib's TRPO uses
    this.optimizer = new Adam(this.criticParameters, { lr: this.learningRate(1), eps: 1e-5 });
  }

  protected train(): UpdateStats {
    const lr = this.updateLearningRate();
    const policyStats = this.policyStep();
    const valueStats = this.fitValueFunction();
    return {
      ...policyStats,
      ...valueStats,
      "train/explainedVariance": explainedVariance(this.buffer.values, this.buffer.returns),
      "train/learningRate": lr,
    };
  }

  /** Steps 1–4 of the update: natural gradient, step size, line search on the whole rollout. */
  private policyStep(): UpdateStats {
    const rows = new Int32Array(Math.ceil(this.rolloutSize / this.subSamplingFactor));
    for (let j = 0; j < rows.length; j++) rows[j] = j * this.subSamplingFactor;
    const batch = this.buffer.gather(rows);
    const advantageValues = batch.advantages.values.slice();
    if (this.normalizeAdvantage) normalizeInPlace(advantageValues);
    const advantages = tensor(advantageValues, [batch.size]);
    const params = this.actorParameters;

    // π_old: the same network, cut from the graph, so KL(π_old || π_θ) differentiates only π_θ
    const oldDistribution = detachedDistribution(noGrad(() => this.policy.distribution(batch.observations)));
    const distribution = this.policy.distribution(batch.observations);
    const objective = surrogateObjective(distribution.logProb(batch.actions), batch.oldLogProbs, advantages);
    const kl = ops.mean(oldDistribution.kl(distribution));
    const objectiveBefore = objective.item();
    const policyGradient = flatten(grad(objective, params, { retainGraph: true }));

    const fisher = fisherVectorProduct(kl, params, this.cgDamping);
    const cg = conjugateGradient(fisher, policyGradient, this.cgMaxSteps);
    const direction = cg.x;
    const sFs = dot(direction, fisher(direction));
    const original = flatten(params);

    let result: LineSearchResult;
    if (sFs > 0 && Number.isFinite(sFs)) {
      result = backtrackingLineSearch(
        (stepSize) =>
          noGrad(() => {
            setFlat(params, original, direction, stepSize);
            const candidate = this.policy.distribution(batch.observations);
            return {
              objective: surrogateObjective(
                candidate.logProb(batch.actions),
                batch.oldLogProbs,
                advantages,
              ).item(),
              kl: ops.mean(oldDistribution.kl(candidate)).item(),
            };
          }),
        objectiveBefore,
        {
          maxStep: maxStepSize(sFs, this.targetKl),
          shrinkingFactor: this.lineSearchShrinkingFactor,
          maxIter: this.lineSearchMaxIter,
          targetKl: this.targetKl,
        },
      );
    } else {
      // a zero policy gradient (e.g. all advantages equal) leaves nothing to step along
      result = { success: false, steps: 0, stepSize: 0, objective: objectiveBefore, kl: 0 };
    }
    if (!result.success) setFlat(params, original, direction, 0);

    const entropy = noGrad(() => ops.mean(this.policy.distribution(batch.observations).entropy()).item());
    return {
      "train/policyLoss": -result.objective,
      "train/approxKl": result.kl,
      "train/cgResidual": cg.residualNorm,
      "train/cgIterations": cg.iterations,
      "train/lineSearchSteps": result.steps,
      "train/lineSearchSuccess": result.success ? 1 : 0,
      "train/stepSize": result.stepSize,
      "train/entropy": entropy,
    };
  }

  /** Step 5: fit V(s) to the λ-returns, `nCriticUpdates` passes of Adam minibatches (critic parameters only). */
  private fitValueFunction(): UpdateStats {
    let valueLossSum = 0;
    let minibatches = 0;
    for (let epoch = 0; epoch < this.nCriticUpdates; epoch++) {
      for (const batch of this.buffer.minibatches(this.batchSize, this.rng)) {
        const values = this.policy.predictValues(batch.observations);
        const valueLoss = ops.mean(ops.square(ops.sub(batch.returns, values)));
        this.optimizer.zeroGrad();
        valueLoss.backward();
        if (Number.isFinite(this.maxGradNorm)) clipGradNorm(this.criticParameters, this.maxGradNorm);
        this.optimizer.step();
        valueLossSum += valueLoss.item();
        minibatches++;
      }
    }
    // the critic loss never reaches the actor's parameters, but a shared trunk's would hold gradients
    for (const p of this.actorParameters) p.zeroGrad();
    return { "train/valueLoss": valueLossSum / Math.max(minibatches, 1) };
  }

  /** Rebuild a TRPO model saved with `save(target)` (a directory path, a `ModelArchive`, archive bytes or IndexedDB). */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<TRPO> {
    return loadAlgorithm((env, opts) => new TRPO(env, opts as TRPOOptions), source, options);
  }
}

// ---------------------------------------------------------------------------------------------
// flat parameter vectors

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The tensors' values, concatenated into one vector. */
function flatten(tensors: Tensor[]): Float64Array {
  const out = new Float64Array(tensors.reduce((n, t) => n + t.size, 0));
  let offset = 0;
  for (const t of tensors) {
    out.set(t.values, offset);
    offset += t.size;
  }
  return out;
}

/** Write `origin + scale·direction` into the parameters in place (the line search's candidate θ). */
function setFlat(params: Tensor[], origin: Float64Array, direction: Float64Array, scale: number): void {
  let offset = 0;
  for (const p of params) {
    const data = p.values;
    for (let i = 0; i < data.length; i++) data[i] = origin[offset + i] + scale * direction[offset + i];
    offset += data.length;
  }
}
