/**
 * Exploration noise for deterministic actors (DDPG, TD3), after SB3's `common/noise.py`: Gaussian
 * (`NormalActionNoise`) or Ornstein-Uhlenbeck (`OrnsteinUhlenbeckActionNoise`, one process per env
 * as `VectorizedActionNoise`, reset where an episode ends), added to the actor's action in the scaled
 * space [−1, 1]. Beyond SB3: σ may be annealed linearly over training (`finalSigma`,
 * `sigmaFraction`), a common schedule for DDPG-style exploration.
 */
import { ProximalError } from "../../errors.js";
import type { Rng } from "../../random/rng.js";

/** Options of the exploration noise (SB3's `action_noise`; RL Zoo's `noise_type` and `noise_std`). */
export interface ActionNoiseOptions {
  /**
   * "normal": independent `N(0, σ²)` each step (SB3 `NormalActionNoise`); "ornstein-uhlenbeck":
   * `x ← x + θ (0 − x) dt + σ √dt N(0, 1)` per env, reset to 0 at episode ends (SB3
   * `OrnsteinUhlenbeckActionNoise`; Lillicrap et al. 2016, arXiv:1509.02971, §7). Required.
   */
  type?: "normal" | "ornstein-uhlenbeck";
  /** σ, the same for every action component (RL Zoo's `noise_std`), in the scaled space [−1, 1]. Required. */
  sigma?: number;
  /** θ of the Ornstein-Uhlenbeck process. @defaultValue 0.15 (SB3) */
  theta?: number;
  /** Time step dt of the Ornstein-Uhlenbeck process. @defaultValue 0.01 (SB3) */
  dt?: number;
  /** σ at the end of the schedule (linear from `sigma`); omitted keeps σ constant, as SB3. */
  finalSigma?: number;
  /** Fraction of training over which σ goes from `sigma` to `finalSigma`. @defaultValue 1 */
  sigmaFraction?: number;
}

/** Exploration noise for `numEnvs` envs of `dim`-dimensional actions; its state is checkpointed. */
export class ActionNoise {
  readonly type: NonNullable<ActionNoiseOptions["type"]>;
  readonly sigma: number;
  readonly theta: number;
  readonly dt: number;
  readonly finalSigma: number;
  readonly sigmaFraction: number;
  /** The Ornstein-Uhlenbeck state x per env and component (`[numEnvs * dim]`, zeros for "normal"). */
  private previous: Float64Array;

  constructor(
    options: ActionNoiseOptions,
    readonly numEnvs: number,
    readonly dim: number,
  ) {
    // type and sigma are optional in the interface only so that the CLI's option reader lists them
    if (options.type !== "normal" && options.type !== "ornstein-uhlenbeck") {
      throw new ProximalError(
        "INVALID_OPTION",
        `actionNoise.type must be "normal" or "ornstein-uhlenbeck", got ${JSON.stringify(options.type)}. Example: { type: "normal", sigma: 0.1 }.`,
      );
    }
    this.type = options.type;
    this.sigma = positive(
      options.sigma as number,
      "actionNoise.sigma",
      "RL Zoo uses 0.1 (normal) or 0.5 (ornstein-uhlenbeck)",
    );
    this.theta = positive(options.theta ?? 0.15, "actionNoise.theta", "SB3 uses 0.15");
    this.dt = positive(options.dt ?? 1e-2, "actionNoise.dt", "SB3 uses 0.01");
    this.finalSigma = options.finalSigma ?? this.sigma;
    if (!(this.finalSigma >= 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `actionNoise.finalSigma must be >= 0, got ${this.finalSigma}.`,
      );
    }
    this.sigmaFraction = options.sigmaFraction ?? 1;
    if (!(this.sigmaFraction > 0 && this.sigmaFraction <= 1)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `actionNoise.sigmaFraction must be in (0, 1], got ${this.sigmaFraction}.`,
      );
    }
    this.previous = new Float64Array(numEnvs * dim);
  }

  /** σ at this point of training (progress remaining 1 → 0), linear from `sigma` to `finalSigma`. */
  sigmaAt(progressRemaining: number): number {
    const progress = 1 - progressRemaining;
    if (progress >= this.sigmaFraction) return this.finalSigma;
    return this.sigma + ((this.finalSigma - this.sigma) * progress) / this.sigmaFraction;
  }

  /** One noise draw per env and component, `[numEnvs * dim]`. */
  sample(rng: Rng, progressRemaining: number): Float32Array {
    const sigma = this.sigmaAt(progressRemaining);
    const out = new Float32Array(this.numEnvs * this.dim);
    if (this.type === "normal") {
      for (let i = 0; i < out.length; i++) out[i] = sigma * rng.normal();
      return out;
    }
    const x = this.previous;
    const scale = sigma * Math.sqrt(this.dt);
    for (let i = 0; i < out.length; i++) {
      x[i] = x[i] - this.theta * x[i] * this.dt + scale * rng.normal();
      out[i] = x[i];
    }
    return out;
  }

  /** Reset the processes of the envs whose episode ended (`dones[i] = 1`): x ← 0 (SB3 `reset`). */
  reset(dones: ArrayLike<number>): void {
    for (let i = 0; i < this.numEnvs; i++) {
      if (dones[i] !== 0) this.previous.fill(0, i * this.dim, (i + 1) * this.dim);
    }
  }

  /** The process state, for checkpoints (numbers survive JSON exactly). */
  state(): number[] {
    return Array.from(this.previous);
  }

  /** Restore the process state saved by `state()`. */
  loadState(state: unknown): void {
    if (!Array.isArray(state) || state.length !== this.previous.length) {
      throw new ProximalError(
        "MALFORMED_FILE",
        `The saved action-noise state has ${Array.isArray(state) ? state.length : "no"} values, expected ${this.previous.length} (numEnvs × action size). Resume with the numEnvs the model was trained with.`,
      );
    }
    this.previous = Float64Array.from(state as number[]);
  }
}

function positive(value: number, name: string, hint: string): number {
  if (!(typeof value === "number" && value > 0 && Number.isFinite(value))) {
    throw new ProximalError(
      "INVALID_OPTION",
      `${name} must be a positive number, got ${JSON.stringify(value)}; ${hint}.`,
    );
  }
  return value;
}
