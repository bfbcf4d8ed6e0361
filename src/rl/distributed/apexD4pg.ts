/**
 * D4PG with Ape-X's actors (Barth-Maron et al. 2018, arXiv:1804.08617, "K independent actors" of §3
 * and Algorithm 1; actor-side priorities from Horgan et al. 2018, arXiv:1803.00933): actors step
 * their own envs with a copy of the deterministic actor plus exploration noise
 * `clip(μ(s) + N(0, σ²), −1, 1)`, and send n-step transitions with initial priorities they computed
 * with their copy of the distributional critic (`apexD4pgActing`); the learner adds them to its
 * prioritised replay, trains D4PG's distributional critic and actor on prioritised minibatches
 * ({@link D4PGLearner}: cross-entropy to the projected n-step target, eq. 4 and 7; the actor ascends
 * the critic's mean, eq. 5), and publishes the actor and critic every `publishInterval` gradient
 * steps.
 *
 * Where the transitions come from:
 * - `distributed: null` (default): `numActors` in-process actors stepping in turn, deterministically
 *   per seed (the learning tests use this path);
 * - `distributed: "redis://host:6379"`: `proximal actor --connect <url> --run <id>` processes
 *   anywhere publish to the run's Redis stream; the learner logs `distributed/actors`, `policyLag`,
 *   `queueDepth`, `rejected` and `droppedStale`. Not deterministic: arrival order depends on timing.
 *
 * The learner takes one gradient step per `trainFreq` transitions received (a fixed replay ratio,
 * as `ApexDQN`), so the same budget gives the same number of updates in process and remote.
 * `numTimesteps` counts the transitions received. The single-machine `D4PG` with worker-thread
 * actors is `rl/d4pg.ts`; both share {@link D4PGLearner}.
 */

import { ProximalError } from "../../errors.js";
import type { ModelSource } from "../../io/modelFiles.js";
import { ActionNoise } from "../common/actionNoise.js";
import {
  D4PG_DEFAULTS,
  D4PGLearner,
  type D4PGLearnerOptions,
  d4pgActionNoise,
  d4pgReplayOptions,
} from "../common/d4pgLearner.js";
import { DistributionalActorCriticPolicy } from "../common/distributionalActorCritic.js";
import { loadOffPolicyAlgorithm } from "../common/offPolicyAlgorithm.js";
import type { EnvInput, LearnOptions, LoadOptions } from "../common/onPolicyAlgorithm.js";
import type { PrioritizedReplayBuffer } from "../replay/prioritizedReplayBuffer.js";
import { apexD4pgActing, D4PGActingNetworks } from "./common/apexD4pgActing.js";
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

/**
 * Options of {@link ApexD4PG}: {@link D4PGLearnerOptions} (prioritised replay is always on) plus the
 * actors'. `numEnvs` is the envs of each actor; `trainFreq` is transitions received per gradient
 * step; `actionNoise` is every actor's exploration noise.
 */
export interface ApexD4PGOptions extends D4PGLearnerOptions, ApexActorOptions {
  /** Publish the actor and critic every this many gradient steps. @defaultValue 100 (D4PG's actorUpdateInterval) */
  publishInterval?: number;
  /** Run id shared by the learner and its actors (`proximal actor --run <id>`). @defaultValue "apex-d4pg" */
  runId?: string;
}

/**
 * D4PG fed by Ape-X actors (see this file's header).
 *
 * @example
 * const model = new ApexD4PG("Pendulum-v1", { vMin: -1630, vMax: 0, numActors: 4, seed: 1 });
 * await model.learn({ totalTimesteps: 20_000 });
 */
export class ApexD4PG extends D4PGLearner {
  readonly algorithmName = "ApexD4PG";
  readonly options: ApexD4PGOptions;
  readonly numActors: number;
  readonly stepsPerMessage: number;
  readonly publishInterval: number;
  readonly runId: string;
  /** The env id actors make their envs from (null: an env object, in-process with one actor only). */
  readonly envId: string | null;
  /** The networks actors load (the learner's actor and critic, not their targets). */
  private readonly actingNetworks: D4PGActingNetworks;

  constructor(env: EnvInput, options: ApexD4PGOptions = {}) {
    if (options.prioritized === false) {
      throw new ProximalError(
        "INVALID_OPTION",
        "ApexD4PG always uses prioritised replay (the actors' priorities are the point of Ape-X); remove prioritized: false or use D4PG.",
      );
    }
    super(env, d4pgReplayOptions({ ...options, prioritized: true }), D4PG_DEFAULTS, "ApexD4PG");
    this.options = options;
    const settings = resolveApexOptions(options, {
      algorithm: "ApexD4PG",
      env,
      madeEnvId: this.env.id ?? null,
      gradientSteps: this.gradientSteps,
      defaultRunId: "apex-d4pg",
      defaultPublishInterval: 100,
    });
    this.numActors = settings.numActors;
    this.stepsPerMessage = settings.stepsPerMessage;
    this.publishInterval = settings.publishInterval;
    this.runId = settings.runId;
    this.envId = settings.envId;
    this.actingNetworks = new D4PGActingNetworks(this.policy);
  }

  /**
   * Train until `totalTimesteps` transitions have arrived from the actors: one gradient step per
   * `trainFreq` transitions once `learningStarts` are stored (target networks updated every
   * `targetUpdateInterval` steps), the actor and critic published every `publishInterval` steps.
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
        gradientStep: () => this.train(1),
        weights: (version) => this.weights(version),
        lossHint: "Lower learningRate, or widen [vMin, vMax] to cover the env's returns.",
      },
      (fresh) => (url === null ? this.inProcessSource() : this.remoteSource(url, fresh)),
      options,
    );
    return this;
  }

  /** The actor and critic as actors load them. */
  private weights(version: number): PublishedWeights {
    return { version, data: encodeWeights(this.actingNetworks, { runId: this.runId, version }) };
  }

  /** The exploration noise of one actor's `numEnvs` envs, or null without `actionNoise`. */
  private actorNoise(): ActionNoise | null {
    const noise = d4pgActionNoise(this.options);
    return noise === null ? null : new ActionNoise(noise, this.env.numEnvs, this.boxSpace.size);
  }

  private inProcessSource(): TransitionSource {
    return inProcessTransitionSource(this, () =>
      apexD4pgActing(
        new DistributionalActorCriticPolicy(
          this.env.singleObservationSpace,
          this.boxSpace,
          this.rng.spawn(),
          this.policy.options,
          this.policy.options,
          [],
        ),
        this.actorNoise(),
        this.boxSpace,
        this.gamma,
      ),
    );
  }

  /** Transitions from the run's queue; a `fresh` learner first discards what an earlier learner of the run left there. */
  private remoteSource(url: string, fresh: boolean): Promise<TransitionSource> {
    return remoteTransitionSource({
      url,
      runId: this.runId,
      fresh,
      spec: {
        ...apexRunSpec(this.algorithmName, this.envId as string, {
          numEnvs: this.env.numEnvs,
          stepsPerMessage: this.stepsPerMessage,
          numActors: this.numActors,
        }),
        apexD4pg: {
          policy: this.policy.options,
          actionNoise: d4pgActionNoise(this.options),
          nStep: this.nStep,
          gamma: this.gamma,
        },
      },
      expectation: {
        runId: this.runId,
        observationSize: this.policy.observationSize,
        nActions: null,
        actionWidth: this.policy.actionDim,
        maxSteps: this.nStep,
      },
      numActors: this.numActors,
      maxPolicyLag: this.options.maxPolicyLag ?? null,
      idleTimeoutSeconds: this.options.idleTimeoutSeconds ?? 120,
    });
  }

  /** Rebuild an ApexD4PG model saved with `save(target)`. */
  static load(source: ModelSource, options: LoadOptions = {}): Promise<ApexD4PG> {
    return loadOffPolicyAlgorithm((env, opts) => new ApexD4PG(env, opts as ApexD4PGOptions), source, options);
  }
}
