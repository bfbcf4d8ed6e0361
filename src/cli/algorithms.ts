/**
 * The algorithms the CLI can train, imported lazily by name so `proximal envs` starts fast. Every
 * row's module ships with the package, so one that fails to load is a broken build or install and
 * is reported, never silently left out of the list. Adding one is one line in
 * {@link ALGORITHMS}: its CLI name, its class name (the module must export the class and an
 * `<Class>Options` interface, whose TSDoc becomes the option list and `--set` types), its module
 * path relative to this file, and a one-line summary.
 */

import { didYouMean, ProximalError } from "../errors.js";
import type { Algorithm } from "../rl/common/algorithm.js";
import type { EnvInput, LoadOptions } from "../rl/common/onPolicyAlgorithm.js";

/**
 * What the CLI needs of an algorithm class: construct from (env, options), and `load(dir)`. A
 * tabular class (a row with `tabular: true`) is given a single `Env` or an id, never a vector env.
 */
export interface AlgorithmClass {
  new (env: EnvInput, options: Record<string, unknown>): Algorithm;
  load(dir: string, options?: LoadOptions): Promise<Algorithm>;
}

/** One row of the algorithm table. */
export interface AlgorithmEntry {
  /** The class the module exports, e.g. `PPO`; its options interface is `PPOOptions`. */
  className: string;
  /** Module path relative to this file (compiled: `dist/cli/`). */
  module: string;
  summary: string;
  /** The algorithm makes its own envs from the id (worker threads), so it is given the id. */
  envById?: boolean;
  /**
   * A tabular algorithm: it steps one env (no vector env, so `--num-envs` above 1 and `normalize`
   * are refused), needs Discrete observations and actions, and accepts an episode budget
   * (`totalEpisodes`, as its presets give).
   */
  tabular?: boolean;
}

export const ALGORITHMS: Record<string, AlgorithmEntry> = {
  ppo: {
    className: "PPO",
    module: "../rl/ppo.js",
    summary: "Proximal Policy Optimization (clip and adaptive KL)",
  },
  a2c: { className: "A2C", module: "../rl/a2c.js", summary: "Advantage Actor-Critic (synchronous)" },
  a3c: {
    className: "A3C",
    module: "../rl/a3c.js",
    summary: "Asynchronous Advantage Actor-Critic",
    envById: true,
  },
  impala: {
    className: "IMPALA",
    module: "../rl/distributed/impala.js",
    summary: "IMPALA: V-trace actor-learner, in-process or across machines (--distributed)",
    envById: true,
  },
  "apex-dqn": {
    className: "ApexDQN",
    module: "../rl/distributed/apexDqn.js",
    summary:
      "Ape-X DQN: actors with an ε ladder and actor-side priorities feed one prioritised replay, in-process or across machines (--distributed)",
    envById: true,
  },
  "distributed-ppo": {
    className: "DistributedPPO",
    module: "../rl/distributed/distributedPpo.js",
    summary:
      "PPO with a bound on policy lag: actors in-process or across machines (what train ppo --distributed runs)",
    envById: true,
  },
  "apex-d4pg": {
    className: "ApexD4PG",
    module: "../rl/distributed/apexD4pg.js",
    summary:
      "D4PG with Ape-X actors (noisy deterministic actor, actor-side priorities), in-process or across machines (what train d4pg --distributed runs; Box actions)",
    envById: true,
  },
  trpo: { className: "TRPO", module: "../rl/trpo.js", summary: "Trust Region Policy Optimization" },
  reinforce: {
    className: "REINFORCE",
    module: "../rl/reinforce.js",
    summary: "REINFORCE (Monte-Carlo policy gradient)",
  },
  actorCritic: {
    className: "ActorCritic",
    module: "../rl/actorCritic.js",
    summary: "Q-critic actor-critic (SARSA critic; n-step, target net, expected-Q baseline switches)",
  },
  dqn: {
    className: "DQN",
    module: "../rl/dqn.js",
    summary: "Deep Q-Network (double, dueling, prioritised replay, n-step, noisy, C51 switches)",
  },
  rainbow: {
    className: "Rainbow",
    module: "../rl/rainbow.js",
    summary: "Rainbow DQN (double, dueling, PER, 3-step, noisy nets, C51)",
  },
  ddpg: {
    className: "DDPG",
    module: "../rl/ddpg.js",
    summary: "Deep Deterministic Policy Gradient (Box actions; Gaussian/OU action noise)",
  },
  td3: {
    className: "TD3",
    module: "../rl/td3.js",
    summary: "Twin Delayed DDPG (twin critics, target smoothing, delayed actor; Box actions)",
  },
  sac: {
    className: "SAC",
    module: "../rl/sac.js",
    summary: "Soft Actor-Critic (squashed Gaussian, twin critics, automatic entropy; Box actions)",
  },
  d4pg: {
    className: "D4PG",
    module: "../rl/d4pg.js",
    summary:
      "Distributed Distributional DDPG (C51 critic, n-step, PER, numActors worker threads; Box actions)",
    // its actor threads make their envs by id (also with numActors 0, so both modes see the same env)
    envById: true,
  },
  bc: {
    className: "BC",
    module: "../rl/imitation/bc.js",
    summary: "behaviour cloning from demonstrations (--demos; validation split by episode, early stopping)",
  },
  dagger: {
    className: "DAgger",
    module: "../rl/imitation/dagger.js",
    summary: "DAgger: BC on the learner's own states labelled by an expert (--expert; β schedule)",
  },
  gail: {
    className: "GAIL",
    module: "../rl/imitation/gail.js",
    summary: "Generative Adversarial Imitation Learning (--demos; discriminator reward, PPO inside)",
  },
  qlearning: {
    className: "QLearning",
    module: "../rl/tabular/qLearning.js",
    summary: "tabular Q-learning (off-policy TD control, S&B 6.5); Discrete envs",
    tabular: true,
  },
  sarsa: {
    className: "Sarsa",
    module: "../rl/tabular/sarsa.js",
    summary: "tabular Sarsa (on-policy TD control, S&B 6.4); Discrete envs",
    tabular: true,
  },
  "expected-sarsa": {
    className: "ExpectedSarsa",
    module: "../rl/tabular/expectedSarsa.js",
    summary: "tabular Expected Sarsa (S&B 6.6); Discrete envs",
    tabular: true,
  },
};

const loaded = new Map<string, AlgorithmClass>();

async function load(name: string): Promise<AlgorithmClass> {
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  const entry = ALGORITHMS[name];
  let module: Record<string, unknown>;
  try {
    module = (await import(new URL(entry.module, import.meta.url).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ProximalError(
      "INTERNAL",
      `Algorithm "${name}": its module ${entry.module} failed to load (${(error as Error).message}). The build or install is incomplete: run \`npm run build\` (or reinstall proximal).`,
      { cause: error },
    );
  }
  const candidate = module[entry.className];
  if (typeof candidate !== "function") {
    throw new ProximalError(
      "INTERNAL",
      `Algorithm "${name}": ${entry.module} does not export the class ${entry.className}. The build is out of date: run \`npm run build\`.`,
    );
  }
  const cls = candidate as unknown as AlgorithmClass;
  loaded.set(name, cls);
  return cls;
}

/** Names of the algorithms, in table order (each module loads, or this fails naming it). */
export async function availableAlgorithms(): Promise<string[]> {
  for (const name of Object.keys(ALGORITHMS)) await load(name);
  return Object.keys(ALGORITHMS);
}

/** A CLI name as the lookup compares it: case, dashes and underscores ignored ("Expected_Sarsa"). */
function lookupKey(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, "");
}

/**
 * The class behind a CLI name (case, dashes and underscores ignored, so `expected-sarsa`,
 * `expectedsarsa` and `ExpectedSarsa` agree); unknown names fail with the closest valid one.
 */
export async function loadAlgorithmClass(name: string): Promise<{ name: string; cls: AlgorithmClass }> {
  const key = Object.keys(ALGORITHMS).find((k) => lookupKey(k) === lookupKey(name));
  if (key === undefined) {
    const known = Object.keys(ALGORITHMS);
    throw new ProximalError(
      "UNKNOWN_NAME",
      `Unknown algorithm "${name}".${didYouMean(name, known)} Available: ${known.join(", ")} (see \`proximal algos\`).`,
    );
  }
  return { name: key, cls: await load(key) };
}

/** The CLI name of a saved model's `algorithm` field ("PPO" → "ppo"). */
export function algorithmNameOf(className: string): string | undefined {
  return Object.keys(ALGORITHMS).find((k) => ALGORITHMS[k].className === className);
}
