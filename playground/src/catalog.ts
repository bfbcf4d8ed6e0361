/**
 * What the page offers: the envs (with how a person plays each from the keyboard) and the
 * algorithms that train synchronously in one worker. A3C and D4PG are left out: they start threads
 * of their own, which a page would have to host as nested workers.
 */

/** Kind of action an env takes: which algorithms fit it. */
export type ActionKind = "discrete" | "box";

/** How the keyboard drives an env. */
export interface KeyboardPlay {
  /** Real time: stepped at `fps` with whatever keys are held; turn-based: one step per key press. */
  mode: "realtime" | "turns";
  /** Steps per second in real time (0 for turn-based envs). */
  fps: number;
  /** The action for the keys held now (`turns`: for the key just pressed, or null to ignore it). */
  action(keys: ReadonlySet<string>, step: number): number[] | null;
  /** One line for the help text under the canvas. */
  help: string;
}

export interface EnvEntry {
  id: string;
  actions: ActionKind;
  /** Discrete observations (a state index): tabular algorithms fit. */
  discreteObservations: boolean;
  play: KeyboardPlay;
}

const held = (keys: ReadonlySet<string>, key: string) => keys.has(key);

/** One key → one action, for turn-based envs. */
function turns(map: Record<string, number>, help: string): KeyboardPlay {
  return {
    mode: "turns",
    fps: 0,
    help,
    action: (keys) => {
      for (const [key, action] of Object.entries(map)) if (keys.has(key)) return [action];
      return null;
    },
  };
}

export const ENVS: EnvEntry[] = [
  {
    id: "CartPole-v1",
    actions: "discrete",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 25,
      help: "← / → push the cart; with no key held the pushes alternate (no net force).",
      action: (keys, step) => (held(keys, "ArrowLeft") ? [0] : held(keys, "ArrowRight") ? [1] : [step % 2]),
    },
  },
  {
    id: "Acrobot-v1",
    actions: "discrete",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 15,
      help: "← / → apply -1 / +1 torque at the joint; no key: none.",
      action: (keys) => (held(keys, "ArrowLeft") ? [0] : held(keys, "ArrowRight") ? [2] : [1]),
    },
  },
  {
    id: "MountainCar-v0",
    actions: "discrete",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 30,
      help: "← / → accelerate left / right; no key: coast.",
      action: (keys) => (held(keys, "ArrowLeft") ? [0] : held(keys, "ArrowRight") ? [2] : [1]),
    },
  },
  {
    id: "MountainCarContinuous-v0",
    actions: "box",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 30,
      help: "← / → full force left / right; no key: coast.",
      action: (keys) => [held(keys, "ArrowLeft") ? -1 : held(keys, "ArrowRight") ? 1 : 0],
    },
  },
  {
    id: "Pendulum-v1",
    actions: "box",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 20,
      help: "← / → torque -2 / +2; no key: none.",
      action: (keys) => [held(keys, "ArrowLeft") ? -2 : held(keys, "ArrowRight") ? 2 : 0],
    },
  },
  {
    id: "LunarLander-v3",
    actions: "discrete",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 30,
      help: "↑ main engine, ← / → side engines (push right / left); no key: drift.",
      action: (keys) =>
        held(keys, "ArrowUp") ? [2] : held(keys, "ArrowLeft") ? [1] : held(keys, "ArrowRight") ? [3] : [0],
    },
  },
  {
    id: "LunarLanderContinuous-v3",
    actions: "box",
    discreteObservations: false,
    play: {
      mode: "realtime",
      fps: 30,
      help: "↑ main engine at full power, ← / → side engines; no key: engines off.",
      action: (keys) => [
        held(keys, "ArrowUp") ? 1 : -1,
        held(keys, "ArrowLeft") ? -1 : held(keys, "ArrowRight") ? 1 : 0,
      ],
    },
  },
  {
    id: "FrozenLake-v1",
    actions: "discrete",
    discreteObservations: true,
    play: turns(
      { ArrowLeft: 0, ArrowDown: 1, ArrowRight: 2, ArrowUp: 3 },
      "Arrow keys move one square per press (the ice is slippery).",
    ),
  },
  {
    id: "CliffWalking-v1",
    actions: "discrete",
    discreteObservations: true,
    play: turns(
      { ArrowUp: 0, ArrowRight: 1, ArrowDown: 2, ArrowLeft: 3 },
      "Arrow keys move one square per press.",
    ),
  },
  {
    id: "Taxi-v4",
    actions: "discrete",
    discreteObservations: true,
    play: turns(
      { ArrowDown: 0, ArrowUp: 1, ArrowRight: 2, ArrowLeft: 3, p: 4, d: 5 },
      "Arrow keys drive, P picks the passenger up, D drops them off.",
    ),
  },
];

export interface AlgorithmEntry {
  /** Class name exported by "proximal". */
  name: string;
  /** Folder of its presets under presets/. */
  presetFolder: string;
  actions: ActionKind[];
  /** Tabular: one env, Discrete observations, budget in episodes. */
  tabular: boolean;
}

export const ALGORITHMS: AlgorithmEntry[] = [
  { name: "PPO", presetFolder: "ppo", actions: ["discrete", "box"], tabular: false },
  { name: "A2C", presetFolder: "a2c", actions: ["discrete", "box"], tabular: false },
  { name: "TRPO", presetFolder: "trpo", actions: ["discrete", "box"], tabular: false },
  { name: "REINFORCE", presetFolder: "reinforce", actions: ["discrete", "box"], tabular: false },
  { name: "DQN", presetFolder: "dqn", actions: ["discrete"], tabular: false },
  { name: "Rainbow", presetFolder: "rainbow", actions: ["discrete"], tabular: false },
  { name: "SAC", presetFolder: "sac", actions: ["box"], tabular: false },
  { name: "TD3", presetFolder: "td3", actions: ["box"], tabular: false },
  { name: "DDPG", presetFolder: "ddpg", actions: ["box"], tabular: false },
  { name: "QLearning", presetFolder: "qlearning", actions: ["discrete"], tabular: true },
  { name: "Sarsa", presetFolder: "sarsa", actions: ["discrete"], tabular: true },
  { name: "ExpectedSarsa", presetFolder: "expectedsarsa", actions: ["discrete"], tabular: true },
];

/** Algorithms that can train on `env`. */
export function algorithmsFor(env: EnvEntry): AlgorithmEntry[] {
  return ALGORITHMS.filter(
    (algorithm) =>
      algorithm.actions.includes(env.actions) && (!algorithm.tabular || env.discreteObservations),
  );
}

export function envEntry(id: string): EnvEntry {
  const entry = ENVS.find((env) => env.id === id);
  if (entry === undefined) throw new Error(`unknown env ${id}`);
  return entry;
}

export function algorithmEntry(name: string): AlgorithmEntry {
  const entry = ALGORITHMS.find((algorithm) => algorithm.name === name);
  if (entry === undefined) throw new Error(`unknown algorithm ${name}`);
  return entry;
}
