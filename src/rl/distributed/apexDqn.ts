/**
 * Ape-X DQN (Horgan et al. 2018, "Distributed Prioritized Experience Replay", arXiv:1803.00933):
 * many actors, each ε-greedy with its own fixed ε (`ε_i = ε^(1 + α·i/(N−1))`, §4.1), step envs with
 * a copy of the Q-network that lags the learner's, and send n-step transitions with initial
 * priorities they computed themselves (`|δ|`, {@link apexPriorities}); one learner adds them to a
 * prioritised replay buffer, trains double DQN with a target network on prioritised minibatches,
 * updates the sampled priorities, and publishes its weights every `publishInterval` updates
 * (Algorithm 1 and 2). The gradient step is the family's (`DeepQAlgorithm`): Huber loss of
 * `Q(s, a) − (G + γ^k Q_target(s', argmax_a Q(s', a)))`, importance-weighted, with priorities `|δ|`.
 *
 * Where the transitions come from:
 * - `distributed: null` (default): {@link InProcessTransitionActors}, `numActors` actors stepping in
 *   turn in this process, deterministically per seed (the learning tests use this path);
 * - `distributed: "redis://host:6379"`: actors anywhere (`proximal actor --connect <url> --run <id>`)
 *   publish to the run's Redis stream; the learner logs `distributed/actors`, `policyLag`,
 *   `queueDepth`, `rejected` and `droppedStale`. Not deterministic: arrival order depends on timing.
 *
 * Timing differs from the paper's asynchronous learner, on purpose: the learner does one gradient
 * step per `trainFreq` transitions received (a fixed replay ratio, as the single-process DQN), so
 * the same budget means the same number of updates whether the actors are in process or remote.
 * `numTimesteps` counts the transitions received.
 */

import { ProximalError } from "../../errors.js";
import type { ModelSource } from "../../io/modelFiles.js";
import type { DeepQOptions } from "../common/deepQAlgorithm.js";
import { DeepQAlgorithm } from "../common/deepQAlgorithm.js";
import { loadOffPolicyAlgorithm } from "../common/offPolicyAlgorithm.js";
import type { EnvInput, LearnOptions, LoadOptions } from "../common/onPolicyAlgorithm.js";
import { QPolicy } from "../common/qPolicy.js";
import type { PrioritizedReplayBuffer } from "../replay/prioritizedReplayBuffer.js";
import { apexDqnActing, apexEpsilon } from "./common/apexExploration.js";
import {
  type ApexActorOptions,
  apexRunSpec,
  inProcessTransitionSource,
  remoteTransitionSource,
  resolveApexOptions,
  runApexLearner,
  type TransitionSource,
} from "./common/apexLearner.js";
import type { PublishedWeights } from "./common/transport.js";
import { encodeWeights } from "./common/weightsMessage.js";

export { apexCategoricalPriorities, apexEpsilon, apexPriorities } from "./common/apexExploration.js";

/**
 * Options of {@link ApexDQN}: {@link DeepQOptions} (prioritised replay is always on; `noisy` and
 * `quantile` are refused: the actors explore with their ε ladder and give TD-error priorities, or
 * with `distributional` (C51, an extension of the paper's DQN learner) cross-entropy ones) plus the
 * actors'. `numEnvs` is the envs of each actor; `trainFreq` is transitions received per gradient
 * step; `targetUpdateInterval` counts gradient steps.
 */
export interface ApexDQNOptions
  extends Omit<DeepQOptions, "noisy" | "noisySigma0" | "quantile">,
    ApexActorOptions {
  /** In-process actors when `distributed` is null; with `distributed`, the size of the ε ladder. @defaultValue 4 */
  numActors?: number;
  /** ε of the ladder `ε_i = ε^(1 + α·i/(N−1))`. @defaultValue 0.4 (paper §4.1) */
  actorEpsilon?: number;
  /** α of the ladder. @defaultValue 7 (paper §4.1) */
  actorEpsilonAlpha?: number;
  /** Publish the learner's weights every this many gradient steps. @defaultValue 25 */
  publishInterval?: number;
  /** Run id shared by the learner and its actors (`proximal actor --run <id>`). @defaultValue "apex-dqn" */
  runId?: string;
}

/**
 * Ape-X DQN: dueling double DQN with n = 3 step returns and prioritised replay fed by actors.
 *
 * @example
 * const model = new ApexDQN("CartPole-v1", { numActors: 4, seed: 1 });
 * await model.learn({ totalTimesteps: 100_000 });
 */
export class ApexDQN extends DeepQAlgorithm {
  readonly algorithmName = "ApexDQN";
  readonly options: ApexDQNOptions;
  readonly numActors: number;
  readonly actorEpsilon: number;
  readonly actorEpsilonAlpha: number;
  readonly stepsPerMessage: number;
  readonly publishInterval: number;
  readonly runId: string;
  /** The env id actors make their envs from (null: an env object, in-process with one actor only). */
  readonly envId: string | null;

  constructor(env: EnvInput, options: ApexDQNOptions = {}) {
    for (const name of ["noisy", "quantile"] as const) {
      if ((options as DeepQOptions)[name] != null && (options as DeepQOptions)[name] !== false) {
        throw new ProximalError(
          "INVALID_OPTION",
          `ApexDQN does not take ${name}: ${name === "noisy" ? "its actors explore with a ladder of ε" : "its actors compute TD-error or C51 cross-entropy priorities, not quantile ones"}. Remove the option (or use DQN/Rainbow).`,
        );
      }
    }
    if (options.prioritized === false) {
      throw new ProximalError(
        "INVALID_OPTION",
        "ApexDQN always uses prioritised replay (the actors' priorities are the point of Ape-X); remove prioritized: false or use DQN.",
      );
    }
    super(
      env,
      { ...options, prioritized: true, nStep: options.nStep ?? 3 },
      {
        learningRate: 1e-4,
        bufferSize: 1_000_000,
        learningStarts: 1000,
        batchSize: 32,
        tau: 1,
        gamma: 0.99,
        trainFreq: 4,
        gradientSteps: 1,
        targetUpdateInterval: 2500, // gradient steps (paper §4.1)
        // only predict({ deterministic: false }) reads this ε; the actors use the ladder
        explorationFraction: 1,
        explorationInitialEps: 0.05,
        explorationFinalEps: 0.05,
        maxGradNorm: 40, // paper §4.1
        double: true,
        dueling: true,
        noisy: false,
        distributional: null,
        adamEps: 1e-8,
      },
    );
    this.options = options;
    this.actorEpsilon = options.actorEpsilon ?? 0.4;
    this.actorEpsilonAlpha = options.actorEpsilonAlpha ?? 7;
    if (!(this.actorEpsilon >= 0 && this.actorEpsilon <= 1) || !(this.actorEpsilonAlpha >= 0)) {
      throw new ProximalError(
        "INVALID_OPTION",
        `actorEpsilon must be in [0, 1] and actorEpsilonAlpha >= 0, got ${this.actorEpsilon} and ${this.actorEpsilonAlpha} (the paper uses 0.4 and 7).`,
      );
    }
    const settings = resolveApexOptions(options, {
      algorithm: "ApexDQN",
      env,
      madeEnvId: this.env.id ?? null,
      gradientSteps: this.gradientSteps,
      defaultRunId: "apex-dqn",
      defaultPublishInterval: 25,
    });
    this.numActors = settings.numActors;
    this.stepsPerMessage = settings.stepsPerMessage;
    this.publishInterval = settings.publishInterval;
    this.runId = settings.runId;
    this.envId = settings.envId;
  }

  /**
   * Train until `totalTimesteps` transitions have arrived from the actors ({@link runApexLearner}):
   * one gradient step per `trainFreq` transitions once `learningStarts` are stored, the weights
   * published every `publishInterval` steps and the target network updated every
   * `targetUpdateInterval` steps.
   */
  override async learn(options: LearnOptions): Promise<this> {
    const url = this.options.distributed ?? null;
    await runApexLearner(
      this,
      {
        replay: this.replayBuffer as PrioritizedReplayBuffer,
        setProgressRemaining: (remaining) => {
          this.progressRemaining = remaining;
        },
        recordEpisode: (episode) => this.recordEpisode(episode),
        gradientStep: () => {
          const stats = this.train(1);
          if (this.nUpdates % this.targetUpdateInterval === 0) this.policy.updateTarget(this.tau);
          return stats;
        },
        weights: (version) => this.weights(version),
        lossHint: "Lower learningRate or keep maxGradNorm finite.",
      },
      (fresh) => (url === null ? this.inProcessSource() : this.remoteSource(url, fresh)),
      options,
    );
    return this;
  }

  /** The online network's weights as actors load them. */
  private weights(version: number): PublishedWeights {
    return { version, data: encodeWeights(this.policy.qNet, { runId: this.runId, version }) };
  }

  /** A Q-network like the learner's (the actors' copies). */
  private newPolicyLikeLearner(): QPolicy {
    return new QPolicy(
      this.env.singleObservationSpace,
      this.env.singleActionSpace,
      this.rng.spawn(),
      this.options.policy,
      { dueling: this.dueling, ...(this.distributional ?? {}) },
    );
  }

  private inProcessSource(): TransitionSource {
    return inProcessTransitionSource(this, (k, n) =>
      apexDqnActing(
        this.newPolicyLikeLearner(),
        apexEpsilon(k, n, this.actorEpsilon, this.actorEpsilonAlpha),
        this.gamma,
      ),
    );
  }

  /** Transitions from the run's queue; a `fresh` learner first discards what an earlier learner of the run left there. */
  private remoteSource(url: string, fresh: boolean): Promise<TransitionSource> {
    const envId = this.envId as string;
    return remoteTransitionSource({
      url,
      runId: this.runId,
      fresh,
      spec: {
        ...apexRunSpec(this.algorithmName, envId, {
          numEnvs: this.env.numEnvs,
          stepsPerMessage: this.stepsPerMessage,
          numActors: this.numActors,
        }),
        apex: {
          qPolicy: this.options.policy ?? {},
          dueling: this.dueling,
          distributional: this.distributional,
          nStep: this.nStep,
          gamma: this.gamma,
          epsilon: this.actorEpsilon,
          epsilonAlpha: this.actorEpsilonAlpha,
          numActors: this.numActors,
        },
      },
      expectation: {
        runId: this.runId,
        observationSize: this.policy.observationSize,
        nActions: this.policy.nActions,
        actionWidth: 1,
        maxSteps: this.nStep,
      },
      numActors: this.numActors,
      maxPolicyLag: this.options.maxPolicyLag ?? null,
      idleTimeoutSeconds: this.options.idleTimeoutSeconds ?? 120,
    });
  }

  /** Rebuild an ApexDQN model saved with `save(target)`. */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<ApexDQN> {
    return loadOffPolicyAlgorithm((env, opts) => new ApexDQN(env, opts as ApexDQNOptions), source, options);
  }
}
