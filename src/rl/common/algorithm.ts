import type { ModelTarget } from "../../io/modelFiles.js";
import type { Rng } from "../../random/rng.js";
import type { Predictor } from "./evaluation.js";
import type { LearnOptions } from "./onPolicyAlgorithm.js";

/** A budget in timesteps ({@link LearnOptions}), or in episodes for algorithms that count them. */
export type AlgorithmLearnOptions =
  | LearnOptions
  | (Omit<LearnOptions, "totalTimesteps"> & { totalTimesteps?: undefined; totalEpisodes: number });

/**
 * What every trainable algorithm offers, on-policy ({@link OnPolicyAlgorithm}) and off-policy
 * ({@link OffPolicyAlgorithm}) and tabular ({@link TabularAlgorithm}) alike: the shape SB3's `BaseAlgorithm` gives its subclasses. The CLI
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
  /**
   * Finished episodes so far, on algorithms that can train to an episode budget (the tabular ones,
   * `learn({ totalEpisodes })`); absent on the others.
   */
  readonly numEpisodes?: number;
  /** The network, if any (a tabular algorithm has none); its resolved `options` go to a run's config. */
  readonly policy?: { readonly options: unknown };
  /**
   * Train; resolves when done or when `onUpdate` returns false. A `totalEpisodes` budget is only for
   * algorithms that have {@link numEpisodes}.
   */
  learn(options: AlgorithmLearnOptions): Promise<unknown>;
  /**
   * Save everything needed to evaluate and to resume into `target`: a directory path (Node), a
   * `ModelArchive` or an `IndexedDBModelFiles`.
   */
  save(target: ModelTarget): Promise<void>;
}
