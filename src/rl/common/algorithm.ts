import type { Rng } from "../../random/rng.js";
import type { Predictor } from "./evaluation.js";
import type { LearnOptions } from "./onPolicyAlgorithm.js";

/**
 * What every trainable algorithm offers, on-policy ({@link OnPolicyAlgorithm}) and off-policy
 * ({@link OffPolicyAlgorithm}) alike: the shape SB3's `BaseAlgorithm` gives its subclasses. The CLI
 * (`train`, `eval`, `enjoy`, run directories) works on this type only, so an algorithm family plugs
 * in without the CLI knowing which base class it extends.
 */
export interface Algorithm extends Predictor {
  /** Name used in saved models and logs ("PPO", "DQN", ...). */
  readonly algorithmName: string;
  /** The options as given to the constructor (saved with the model). */
  readonly options: object;
  /** The generator behind every random draw of training and of stochastic `predict`. */
  readonly rng: Rng;
  /** Environment steps so far (over all envs). */
  readonly numTimesteps: number;
  /** The network; its resolved `options` are written to a run's config. */
  readonly policy: { readonly options: unknown };
  /** Train; resolves when done or when `onUpdate` returns false. */
  learn(options: LearnOptions): Promise<unknown>;
  /** Save everything needed to evaluate and to resume into `dir`. Node only. */
  save(dir: string): Promise<void>;
}
