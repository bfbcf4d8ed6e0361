/**
 * `proximal train <algo> --env <id>` and `proximal train --resume <dir>`.
 *
 * Stopping: `--stop-after N` and Ctrl-C both stop at the first update boundary at or after the
 * request (an update consumes `nSteps * numEnvs` timesteps, so N is rounded up to the next whole
 * rollout), write a checkpoint, and keep the planned total in `config.json`; `--resume` then
 * continues in place to that total. Resuming restores the weights, the optimizer, the generator,
 * the counters, the last observations, the episode window and the env state (normalisation
 * statistics included), and passes the same planned total to `learn`, so schedules see the same
 * progress: the final weights are bit-identical to an uninterrupted run's. The logs are cut back to
 * where the checkpoint recorded them, so after a hard kill no row is kept twice or lost. The
 * original command line plus `--resume <dir>` works: flags that restate the run must match its
 * `config.json` (see {@link checkResumeFlags}).
 *
 * Tabular algorithms (`qlearning`, `sarsa`, `expected-sarsa`) step one env and update after every
 * step; an "update" here is a finished episode. Their presets budget in episodes (`totalEpisodes`):
 * such a run counts `--stop-after`, `--eval-every`, `--checkpoint-every` and the progress bar in
 * episodes, records `totalEpisodes` (and `totalTimesteps: null`) in `config.json`, and resumes to
 * the same planned number of episodes. `--total-timesteps` replaces the episode budget.
 */
import { mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { make } from "../envs/make.js";
import { ProximalError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomicWrite.js";
import { ProgressLog } from "../io/progressLog.js";
import { TfEventsWriter } from "../io/tfevents.js";
import type { Algorithm } from "../rl/common/algorithm.js";
import type { Predictor } from "../rl/common/evaluation.js";
import { evaluatePolicy } from "../rl/common/evaluation.js";
import type { UpdateStats } from "../rl/common/onPolicyAlgorithm.js";
import { VERSION } from "../version.js";
import type { spawnLocalActors } from "./actor.js";
import type { AlgorithmClass } from "./algorithms.js";
import { ALGORITHMS, loadAlgorithmClass } from "./algorithms.js";
import type { RunConfig } from "./config.js";
import { resolveConfig } from "./config.js";
import type { OptionSpec } from "./optionSchema.js";
import { optionSpecs } from "./optionSchema.js";
import { checkOutDir, prepareOutDir } from "./outputDir.js";
import { createReporter } from "./progress.js";
import type { RunState, RunStatus } from "./runDirectory.js";
import {
  BEST_DIR,
  CHECKPOINTS_DIR,
  CONFIG_FILE,
  MODEL_DIR,
  RUN_STATE_FILE,
  readLatest,
  readRunConfig,
  readRunState,
  saveModel,
  writeCheckpoint,
  writeLatest,
} from "./runDirectory.js";
import { buildTrainingEnv, normalizationOf, withNormalization } from "./runEnv.js";

/** Flags of `train` as commander hands them over (strings, validated here). */
export interface TrainFlags {
  env?: string;
  seed?: string;
  totalTimesteps?: string;
  numEnvs?: string;
  config?: string;
  set?: string[];
  preset?: string;
  out?: string;
  force?: boolean;
  evalEvery?: string;
  evalEpisodes?: string;
  checkpointEvery?: string;
  logEvery?: string;
  stopAfter?: string;
  resume?: string;
  json?: boolean;
  demos?: string;
  expert?: string;
  distributed?: string;
  localActors?: string;
  run?: string;
}

/**
 * `train <algo> --distributed <url>` for an algorithm whose single-process class has no actors to
 * move: the CLI name of the class that trains it with remote actors (saved in the run's config, so
 * `--resume` rebuilds the same one).
 */
const DISTRIBUTED_VARIANT: Record<string, string> = { ppo: "distributed-ppo", d4pg: "apex-d4pg" };

/** Exit status of an interrupted run (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** Run `train`; resolves to the exit status. */
export async function trainCommand(algo: string | undefined, flags: TrainFlags): Promise<number> {
  const stopAfter = optionalInteger(flags.stopAfter, "--stop-after", 1);
  if (flags.resume !== undefined) {
    await checkResumeFlags(flags.resume, algo, flags);
    return resumeRun(flags.resume, stopAfter, flags.json === true);
  }
  if (algo === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "train needs an algorithm: proximal train ppo --env CartPole-v1 (or --resume <run-dir>).",
    );
  }
  if (flags.env === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `train needs --env <id>, e.g. proximal train ${algo} --env CartPole-v1 (list them with \`proximal envs\`).`,
    );
  }
  const localActors = optionalInteger(flags.localActors, "--local-actors", 0) ?? 0;
  if ((localActors > 0 || flags.run !== undefined) && flags.distributed === undefined) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "--local-actors and --run need --distributed <url> (the server the learner and its actors meet on), e.g. --distributed redis://127.0.0.1:6379.",
    );
  }
  const evalEvery = optionalInteger(flags.evalEvery, "--eval-every", 1) ?? null;
  const evalEpisodes = optionalInteger(flags.evalEpisodes, "--eval-episodes", 1) ?? 5;
  const { config, cls } = await resolveConfig({
    // an algorithm whose single-process class cannot take remote actors names its distributed one
    algo: flags.distributed === undefined ? algo : (DISTRIBUTED_VARIANT[algo] ?? algo),
    envId: flags.env,
    preset: flags.preset,
    configFile: flags.config,
    sets: flags.set ?? [],
    seed: optionalInteger(flags.seed, "--seed", Number.MIN_SAFE_INTEGER),
    numEnvs: optionalInteger(flags.numEnvs, "--num-envs", 1),
    totalTimesteps: optionalInteger(flags.totalTimesteps, "--total-timesteps", 1),
    flagOptions: {
      ...(flags.demos === undefined ? {} : { demonstrations: { value: flags.demos, flag: "--demos" } }),
      ...(flags.expert === undefined ? {} : { expert: { value: flags.expert, flag: "--expert" } }),
      ...(flags.distributed === undefined
        ? {}
        : { distributed: { value: flags.distributed, flag: "--distributed" } }),
      ...(flags.run === undefined ? {} : { runId: { value: flags.run, flag: "--run" } }),
    },
  });
  const checkpointEvery =
    optionalInteger(flags.checkpointEvery, "--checkpoint-every", 1) ??
    Math.max(1, Math.ceil(plannedTotal(config) / 10));
  const logEvery = optionalInteger(flags.logEvery, "--log-every", 1) ?? defaultLogEvery(plannedTotal(config));
  const runDir = flags.out ?? defaultRunDir(config.algo, config.envId);
  await checkOutDir(runDir, flags.force, `continue it with --resume ${runDir}`);
  if (flags.distributed !== undefined && config.options.runId === undefined) {
    // one run per run directory: actors of an earlier run on the same server are told apart
    config.options.runId = basename(resolve(runDir))
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .slice(0, 100);
  }
  // build everything that validates options before writing a byte
  const session = buildSession(cls, config);
  await attachExpert(session.model, config.options);
  await prepareOutDir(runDir, flags.force);
  await mkdir(join(runDir, CHECKPOINTS_DIR), { recursive: true });
  const specs = await optionSpecs(`${ALGORITHMS[config.algo].className}Options`);
  await writeJsonAtomic(join(runDir, CONFIG_FILE), {
    proximalVersion: VERSION,
    algo: config.algo,
    algorithm: session.model.algorithmName,
    envId: config.envId,
    seed: config.seed,
    numEnvs: config.numEnvs,
    totalTimesteps: config.totalEpisodes === null ? config.totalTimesteps : null,
    totalEpisodes: config.totalEpisodes,
    preset: config.preset,
    presetSource: config.presetSource,
    normalize: config.normalize,
    evalEvery,
    evalEpisodes,
    checkpointEvery,
    logEvery,
    options: resolvedOptions(session.model, config.options, specs),
    givenOptions: config.options,
    createdAt: new Date().toISOString(),
  });
  const log = await ProgressLog.open(runDir);
  const events = await TfEventsWriter.create(runDir);
  let actors: ReturnType<typeof spawnLocalActors> | null = null;
  if (flags.distributed !== undefined) {
    const runId = String(config.options.runId);
    process.stderr.write(
      `proximal: learner of run ${runId} on ${flags.distributed}; more actors: proximal actor --connect ${flags.distributed} --run ${runId}\n`,
    );
    if (localActors > 0)
      // imported here: the distributed modules are not loaded for a local run
      actors = (await import("./actor.js")).spawnLocalActors(localActors, {
        url: flags.distributed,
        runId,
        seed: config.seed,
      });
  }
  try {
    return await trainLoop({
      runDir,
      config,
      model: session.model,
      session,
      stopAfter,
      evalEvery,
      evalEpisodes,
      checkpointEvery,
      logEvery,
      runState: { bestEvalReturn: null, elapsedSeconds: 0 },
      log,
      events,
      json: flags.json === true,
      resumed: false,
    });
  } finally {
    await actors?.stop();
  }
}

interface Session {
  model: Algorithm;
  normalizer: ReturnType<typeof buildTrainingEnv>["observationNormalizer"];
}

/** The run's planned budget, in its unit (episodes or timesteps). */
function plannedTotal(config: RunConfig): number {
  return config.totalEpisodes ?? config.totalTimesteps;
}

/**
 * About 1,000 progress rows per run. The off-policy algorithms update after every env step: a row per
 * update was a file append, a TensorBoard record and a stdout line per step (16% of a SAC run's wall
 * time, measured) and a 500k-step run's log of 500k rows. The stats are windowed means over recent
 * episodes and the last update's losses (as SB3 logs them), so skipped updates lose nothing averaged.
 */
function defaultLogEvery(total: number): number {
  return Math.max(1, Math.floor(total / 1000));
}

function buildSession(cls: AlgorithmClass, config: RunConfig): Session {
  if (ALGORITHMS[config.algo].tabular) {
    // one env, made (and seeded) by the algorithm from the id; it refuses non-Discrete spaces
    return { model: new cls(config.envId, config.options), normalizer: null };
  }
  const gamma = typeof config.options.gamma === "number" ? config.options.gamma : 0.99;
  const { env, observationNormalizer } = buildTrainingEnv(
    config.envId,
    config.numEnvs,
    config.seed,
    config.normalize,
    gamma,
  );
  if (ALGORITHMS[config.algo].envById) {
    if (config.normalize !== null) {
      throw new ProximalError(
        "INVALID_OPTION",
        `${config.algo} builds its envs in worker threads, so it cannot use normalize; set normalize: false (--set normalize=false).`,
      );
    }
    env.close();
    return { model: new cls(config.envId, config.options), normalizer: null };
  }
  const model = new cls(env, config.options);
  return { model, normalizer: observationNormalizer };
}

/**
 * An expert given by directory (DAgger's `--expert`): load it as `eval` does (with its observation
 * statistics) and hand it to the model, which queries it on its own states.
 */
async function attachExpert(model: Algorithm, options: Record<string, unknown>): Promise<void> {
  const target = model as Algorithm & { setExpert?: (expert: Predictor) => void };
  if (typeof options.expert !== "string" || typeof target.setExpert !== "function") return;
  const { loadSavedModel } = await import("./evaluate.js");
  const { model: expert, normalization } = await loadSavedModel(options.expert);
  target.setExpert(withNormalization(expert, normalization));
}

/**
 * What the other `train` flags do with `--resume <dir>`: the ones that name the run (the algorithm,
 * `--env`, `--seed`, `--num-envs`, `--total-timesteps`, `--preset`, `--out`, `--eval-every`,
 * `--eval-episodes`, `--checkpoint-every`) are accepted when they equal the values in its
 * `config.json`, so the original command line plus `--resume` works, and refused on a mismatch,
 * naming both values. `--config`, `--set` and `--force` are always refused: a resumed run keeps its
 * saved options, and `--force` starts a run afresh. `--stop-after` and `--json` apply as usual.
 */
async function checkResumeFlags(runDir: string, algo: string | undefined, flags: TrainFlags): Promise<void> {
  const refused = [
    ...(flags.config === undefined ? [] : ["--config"]),
    ...((flags.set ?? []).length > 0 ? ["--set"] : []),
  ];
  if (refused.length > 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--resume continues ${runDir} with the options saved in its ${CONFIG_FILE}; drop ${refused.join(" and ")} (to change options, start a new run with another --out).`,
    );
  }
  const distributedFlags = [
    ...(flags.distributed === undefined ? [] : ["--distributed"]),
    ...(flags.run === undefined ? [] : ["--run"]),
    ...(flags.localActors === undefined ? [] : ["--local-actors"]),
  ];
  if (distributedFlags.length > 0) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--resume reconnects to the server and run id saved in ${runDir}'s ${CONFIG_FILE}; drop ${distributedFlags.join(", ")}. Actors that kept running follow the resumed learner by themselves; start more with proximal actor --connect <url> --run <id>.`,
    );
  }
  if (flags.force === true) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--force starts a run afresh and --resume continues one; drop one of them (to restart ${runDir}, run the original command with --force and without --resume).`,
    );
  }
  if (flags.out !== undefined && resolve(flags.out) !== resolve(runDir)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `--out ${flags.out} and --resume ${runDir} name different directories; drop --out (a resumed run continues in place).`,
    );
  }
  const saved = await readRunConfig(runDir);
  // [flag as given, the key in config.json, the flag's value, does it equal the saved one]
  const checks: [string, string, unknown, boolean?][] = [];
  if (algo !== undefined) {
    checks.push([`algorithm ${algo}`, "algo", algo, algo.toLowerCase() === String(saved.algo).toLowerCase()]);
  }
  const restated = (key: keyof TrainFlags, savedKey: string, value: unknown) => {
    if (flags[key] !== undefined) checks.push([`${flagName(key)} ${String(flags[key])}`, savedKey, value]);
  };
  restated("env", "envId", flags.env);
  restated("seed", "seed", optionalInteger(flags.seed, "--seed", Number.MIN_SAFE_INTEGER));
  restated("numEnvs", "numEnvs", optionalInteger(flags.numEnvs, "--num-envs", 1));
  restated("totalTimesteps", "totalTimesteps", optionalInteger(flags.totalTimesteps, "--total-timesteps", 1));
  restated("preset", "preset", flags.preset);
  const givenOptions = (saved.givenOptions as Record<string, unknown> | undefined) ?? {};
  if (flags.demos !== undefined) {
    checks.push([
      `--demos ${flags.demos}`,
      "demonstrations",
      flags.demos,
      flags.demos === givenOptions.demonstrations,
    ]);
  }
  if (flags.expert !== undefined) {
    checks.push([`--expert ${flags.expert}`, "expert", flags.expert, flags.expert === givenOptions.expert]);
  }
  restated("evalEvery", "evalEvery", optionalInteger(flags.evalEvery, "--eval-every", 1));
  restated("evalEpisodes", "evalEpisodes", optionalInteger(flags.evalEpisodes, "--eval-episodes", 1));
  restated(
    "checkpointEvery",
    "checkpointEvery",
    optionalInteger(flags.checkpointEvery, "--checkpoint-every", 1),
  );
  restated("logEvery", "logEvery", optionalInteger(flags.logEvery, "--log-every", 1));
  const mismatches = checks.filter(([, savedKey, value, same]) => !(same ?? value === saved[savedKey]));
  if (mismatches.length === 0) return;
  const described = mismatches.map(
    ([flag, savedKey]) =>
      `${flag} does not match the run's ${savedKey} ${String(saved[savedKey] ?? "(none)")}`,
  );
  const names = mismatches.map(([flag, savedKey]) =>
    savedKey === "algo" ? "the algorithm" : flag.split(" ")[0],
  );
  throw new ProximalError(
    "INVALID_ARGUMENT",
    `${described.join("; ")} (${join(runDir, CONFIG_FILE)}); drop ${names.join(", ")} to continue ${runDir} as saved, or train a new run with another --out.`,
  );
}

async function resumeRun(runDir: string, stopAfter: number | undefined, json: boolean): Promise<number> {
  const saved = await readRunConfig(runDir);
  const latest = await readLatest(runDir);
  if (latest?.status === "finished") {
    process.stderr.write(
      `proximal: ${runDir} already finished at ${latest.timesteps} timesteps; nothing to resume.\n`,
    );
    return 0;
  }
  if (latest === null || latest.checkpoint === null) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${runDir} has no checkpoint to resume from (${join(CHECKPOINTS_DIR, "latest.json")} is missing): it stopped before its first checkpoint. Start it again with --force.`,
    );
  }
  const config: RunConfig = {
    algo: String(saved.algo),
    envId: String(saved.envId),
    seed: Number(saved.seed),
    numEnvs: Number(saved.numEnvs),
    totalTimesteps: Number(saved.totalTimesteps ?? 0),
    totalEpisodes: typeof saved.totalEpisodes === "number" ? saved.totalEpisodes : null,
    preset: (saved.preset as string | null) ?? null,
    presetSource: (saved.presetSource as string | null) ?? null,
    normalize: (saved.normalize as RunConfig["normalize"]) ?? null,
    options: (saved.givenOptions as Record<string, unknown>) ?? {},
  };
  const { cls } = await loadAlgorithmClass(config.algo);
  const checkpointDir = join(runDir, CHECKPOINTS_DIR, latest.checkpoint);
  const gamma = typeof config.options.gamma === "number" ? config.options.gamma : 0.99;
  let model: Algorithm;
  let observationNormalizer: Session["normalizer"] = null;
  if (ALGORITHMS[config.algo].envById || ALGORITHMS[config.algo].tabular) {
    // the algorithm rebuilds its env(s) from the saved id and restores their state
    model = await cls.load(checkpointDir, { restoreEnv: true });
  } else {
    const built = buildTrainingEnv(config.envId, config.numEnvs, config.seed, config.normalize, gamma);
    observationNormalizer = built.observationNormalizer;
    model = await cls.load(checkpointDir, { env: built.env, restoreEnv: true });
  }
  await attachExpert(model, config.options);
  const runState = await readRunState(checkpointDir);
  let log: ProgressLog;
  let events: TfEventsWriter;
  if (runState.logs !== undefined) {
    // cut the logs back to where they stood at the checkpoint: rows a killed process logged after
    // it are dropped here and logged again, identically, by the updates that follow
    log = await ProgressLog.resume(runDir, runState.logs.progress);
    events = await TfEventsWriter.resume(runDir, runState.logs.events);
  } else {
    process.stderr.write(
      `proximal: ${join(checkpointDir, RUN_STATE_FILE)} records no log positions (an earlier proximal wrote it): progress rows after ${model.numTimesteps} timesteps are dropped, and TensorBoard may show the steps after it twice.\n`,
    );
    log = await ProgressLog.open(runDir, { keepUntil: model.numTimesteps });
    events = await TfEventsWriter.create(runDir);
  }
  return trainLoop({
    runDir,
    config,
    model,
    session: { model, normalizer: observationNormalizer },
    stopAfter,
    evalEvery: (saved.evalEvery as number | null) ?? null,
    evalEpisodes: Number(saved.evalEpisodes ?? 5),
    checkpointEvery: Number(saved.checkpointEvery ?? Math.ceil(plannedTotal(config) / 10)),
    // runs from before --log-every logged every update
    logEvery: Number(saved.logEvery ?? 1),
    runState,
    log,
    events,
    json,
    resumed: true,
  });
}

interface LoopArgs {
  runDir: string;
  config: RunConfig;
  model: Algorithm;
  session: Session;
  stopAfter: number | undefined;
  evalEvery: number | null;
  evalEpisodes: number;
  checkpointEvery: number;
  logEvery: number;
  runState: RunState;
  log: ProgressLog;
  events: TfEventsWriter;
  json: boolean;
  resumed: boolean;
}

async function trainLoop(args: LoopArgs): Promise<number> {
  const {
    runDir,
    config,
    model,
    session,
    stopAfter,
    evalEvery,
    checkpointEvery,
    logEvery,
    runState,
    log,
    events,
  } = args;
  const reporter = createReporter({ json: args.json });
  // the run's budget and the count that --stop-after, --eval-every and --checkpoint-every compare
  // with: episodes for a run budgeted in episodes (tabular), else timesteps
  const byEpisodes = config.totalEpisodes !== null;
  const unit = byEpisodes ? "episodes" : "timesteps";
  const total = plannedTotal(config);
  const count = () => (byEpisodes ? (model.numEpisodes ?? 0) : model.numTimesteps);
  const elapsedBefore = runState.elapsedSeconds;
  let stopReason: RunStatus | null = null;
  let lastCheckpointAt = args.resumed ? model.numTimesteps : -1;
  let interrupts = 0;
  // updates may consume different numbers of timesteps (REINFORCE collects whole episodes)
  let previousCount = count();
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C: leave now (the last checkpoint is intact)
    process.stderr.write(
      "\nproximal: stopping after this update and writing a checkpoint (Ctrl-C again to quit now)\n",
    );
  };
  process.on("SIGINT", onSigint);
  reporter.event(
    args.resumed ? "resume" : "start",
    {
      runDir,
      algo: config.algo,
      envId: config.envId,
      seed: config.seed,
      timesteps: model.numTimesteps,
      ...(byEpisodes
        ? { episodes: count(), totalEpisodes: total }
        : { totalTimesteps: config.totalTimesteps }),
    },
    `${args.resumed ? "resuming" : "training"} ${config.algo} on ${config.envId} (seed ${config.seed}${config.preset === null ? "" : `, preset ${config.preset}`}) into ${runDir}`,
  );
  const normalization = () => normalizationOf(session.normalizer, config.normalize);
  const checkpoint = async (status: RunStatus) => {
    runState.logs = { progress: await log.position(), events: await events.position() };
    await writeCheckpoint(runDir, model, normalization(), runState, status);
  };
  try {
    await model.learn({
      ...(byEpisodes ? { totalEpisodes: total } : { totalTimesteps: total }),
      resetNumTimesteps: false,
      onUpdate: async (stats: UpdateStats) => {
        const timesteps = model.numTimesteps;
        const now = count();
        const previous = previousCount;
        previousCount = now;
        runState.elapsedSeconds = elapsedBefore + stats["time/elapsedSeconds"];
        const row: Record<string, number> = {
          timesteps,
          wallTime: Date.now() / 1000,
          ...stats,
          "time/elapsedSeconds": runState.elapsedSeconds,
        };
        const finalUpdate = now >= total;
        if (evalEvery !== null && (crossed(previous, now, evalEvery) || finalUpdate)) {
          const result = await evaluateDuringTraining(model, config, session, args.evalEpisodes);
          row["eval/meanReturn"] = result.meanReturn;
          row["eval/stdReturn"] = result.stdReturn;
          row["eval/meanLength"] = result.meanLength;
          if (runState.bestEvalReturn === null || result.meanReturn > runState.bestEvalReturn) {
            runState.bestEvalReturn = result.meanReturn;
            await saveModel(join(runDir, MODEL_DIR, BEST_DIR), model, normalization());
          }
          reporter.event(
            "eval",
            { timesteps, ...result, episodes: undefined },
            `eval at ${timesteps}: mean return ${result.meanReturn.toFixed(1)} ± ${result.stdReturn.toFixed(1)}`,
          );
        }
        // rows fall on the same updates in a resumed run as in an uninterrupted one (no row at a stop)
        if (crossed(previous, now, logEvery) || finalUpdate || row["eval/meanReturn"] !== undefined) {
          await log.append(row);
          const { timesteps: _t, wallTime: _w, ...scalars } = row;
          await events.addScalars(timesteps, scalars);
          reporter.update(row, total, unit);
        }
        if (stopAfter !== undefined && now >= stopAfter && !finalUpdate) stopReason = "stopped";
        if (interrupts > 0 && !finalUpdate) stopReason = "interrupted";
        if (stopReason === null && !finalUpdate && crossed(previous, now, checkpointEvery)) {
          await checkpoint("running");
          lastCheckpointAt = timesteps;
        }
        return stopReason === null;
      },
    });
    if (stopReason !== null) {
      const reason: RunStatus = stopReason;
      if (lastCheckpointAt === model.numTimesteps) {
        const latest = await readLatest(runDir);
        await writeLatest(runDir, {
          checkpoint: latest?.checkpoint ?? null,
          timesteps: model.numTimesteps,
          status: reason,
        });
      } else {
        await checkpoint(reason);
      }
      reporter.close();
      reporter.event(
        reason,
        {
          runDir,
          timesteps: model.numTimesteps,
          ...(byEpisodes ? { episodes: count(), totalEpisodes: total } : { totalTimesteps: total }),
        },
        `${reason} at ${count()} of ${total} ${unit}; checkpoint written. Continue with: proximal train --resume ${runDir}`,
      );
      return reason === "interrupted" ? EXIT_INTERRUPTED : 0;
    }
    await saveModel(join(runDir, MODEL_DIR), model, normalization());
    await checkpoint("finished");
    reporter.close();
    const last = log.all[log.all.length - 1];
    reporter.event(
      "done",
      {
        runDir,
        timesteps: model.numTimesteps,
        episodeReturn: last?.["rollout/episodeReturn"] ?? null,
        bestEvalReturn: runState.bestEvalReturn,
      },
      `done: ${model.numTimesteps} timesteps, recent mean return ${last?.["rollout/episodeReturn"]?.toFixed(1) ?? "-"}. Model in ${join(runDir, MODEL_DIR)}.`,
    );
    return 0;
  } finally {
    process.off("SIGINT", onSigint);
    await events.close();
    await log.close();
    reporter.close();
  }
}

/** Did the count pass a multiple of `every` between `from` (exclusive) and `to` (inclusive)? */
function crossed(from: number, to: number, every: number): boolean {
  return Math.floor(to / every) > Math.floor(Math.max(from, 0) / every);
}

/**
 * Evaluate on a fresh single env seeded apart from training. The model's generator is saved and
 * restored around it, so evaluating never changes the training run (and resume stays exact).
 */
async function evaluateDuringTraining(
  model: Algorithm,
  config: RunConfig,
  session: Session,
  episodes: number,
) {
  const rngState = model.rng.getState();
  try {
    const predictor = withNormalization(model, normalizationOf(session.normalizer, config.normalize));
    const env = make(config.envId);
    const result = await evaluatePolicy(predictor, env, {
      episodes,
      deterministic: true,
      seed: config.seed + 1_000_003,
    });
    env.close();
    return result;
  } finally {
    model.rng.setState(rngState);
  }
}

/**
 * The options as the model resolved them: given values, else the model's own field of that name
 * (schedules at their start), else the documented default.
 */
function resolvedOptions(
  model: Algorithm,
  given: Record<string, unknown>,
  specs: Map<string, OptionSpec>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = model as unknown as Record<string, unknown>;
  for (const [name, spec] of specs) {
    if (given[name] !== undefined) out[name] = given[name];
    else if (name === "policy" && model.policy !== undefined) out[name] = model.policy.options;
    else if (typeof fields[name] === "function") out[name] = (fields[name] as (p: number) => number)(1);
    else if (fields[name] !== undefined) out[name] = fields[name];
    else if (spec.defaultValue !== undefined) out[name] = parseDefault(spec.defaultValue);
  }
  return out;
}

function parseDefault(text: string): unknown {
  const first = text.split(/\s+\(|\s+for\s|,\s/)[0].trim();
  if (first === "null") return null;
  if (first === "true" || first === "false") return first === "true";
  if (/^"[^"]*"$/.test(first)) return first.slice(1, -1);
  const n = Number(first);
  return Number.isFinite(n) ? n : text;
}

function optionalInteger(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text.replace(/_/g, ""));
  if (!Number.isInteger(value) || value < min) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      `${flag} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ""}, got "${text}". Example: ${flag} ${Math.max(min, 1000)}.`,
    );
  }
  return value;
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function defaultRunDir(algo: string, envId: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  return join("runs", `${algo}-${envId}-${stamp}`);
}
