/**
 * `proximal enjoy <run-dir>`: watch the trained policy play in the terminal, drawn by the env's
 * text renderer (`renderMode: "ansi"`, classic control). On a terminal each frame replaces the
 * last; otherwise frames are printed one after another (handy in logs and tests).
 */
import { make } from "../envs/make.js";
import { Discrete } from "../envs/spaces/discrete.js";
import { flatSize, writeFlat } from "../envs/spaces/flatten.js";
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { actionMaskFromInfo } from "../rl/common/actionMasks.js";
import { deterministicFlag, integerFlag, loadSavedModel } from "./evaluate.js";
import { withNormalization } from "./runEnv.js";

export interface EnjoyFlags {
  episodes?: string;
  seed?: string;
  fps?: string;
  deterministic?: boolean;
  stochastic?: boolean;
  best?: boolean;
}

export async function enjoyCommand(path: string, flags: EnjoyFlags): Promise<number> {
  const episodes = integerFlag(flags.episodes, "--episodes", 1, 1);
  const seed = integerFlag(flags.seed, "--seed", Number.MIN_SAFE_INTEGER, 0);
  const fps = integerFlag(flags.fps, "--fps", 0, 30);
  const deterministic = deterministicFlag(flags);
  const { model, envId, normalization } = await loadSavedModel(path, { best: flags.best });
  model.rng.setState(new Rng(seed).getState());
  const probe = make(envId);
  const modes = probe.metadata.renderModes;
  probe.close();
  if (!modes.includes("ansi")) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${envId} has no text renderer (render modes: ${modes.join(", ")}); enjoy works with the classic-control envs. Use \`proximal eval\` instead.`,
    );
  }
  const env = make<Float32Array, unknown>(envId, { renderMode: "ansi" });
  const predictor = withNormalization(model, normalization);
  const flat = new Float32Array(flatSize(env.observationSpace));
  // as in evaluatePolicy: a Discrete env's info.actionMask goes to predict
  const maskWidth = env.actionSpace instanceof Discrete ? env.actionSpace.n : null;
  const predictOptions = (info: Record<string, unknown>) => {
    const actionMask = maskWidth === null ? null : actionMaskFromInfo(info, maskWidth);
    return actionMask === null ? { deterministic } : { deterministic, actionMask };
  };
  const tty = process.stdout.isTTY === true;
  const delay = fps === 0 ? 0 : 1000 / fps;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on("SIGINT", onSigint);
  try {
    for (let episode = 0; episode < episodes && !interrupted; episode++) {
      let { observation, info } = env.reset(episode === 0 ? { seed } : {});
      let total = 0;
      let steps = 0;
      for (;;) {
        const frame = String(env.render());
        const status = `${envId}  episode ${episode + 1}/${episodes}  step ${steps}  return ${total.toFixed(1)}`;
        process.stdout.write(tty ? `\x1b[H\x1b[2J${frame}\n${status}\n` : `${frame}\n${status}\n\n`);
        writeFlat(env.observationSpace, observation, flat, 0);
        const action = predictor.predict(flat, predictOptions(info));
        const shape = (env.actionSpace as { shape?: readonly number[] }).shape ?? [];
        const result = env.step(action instanceof Int32Array && shape.length === 0 ? action[0] : action);
        total += result.reward;
        steps++;
        observation = result.observation;
        info = result.info;
        if (result.terminated || result.truncated || interrupted) break;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        else await new Promise((r) => setImmediate(r));
      }
      process.stdout.write(`episode ${episode + 1}: return ${total.toFixed(1)}, length ${steps}\n`);
    }
  } finally {
    process.off("SIGINT", onSigint);
    env.close();
  }
  return 0;
}
