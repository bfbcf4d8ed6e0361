import { Command, CommanderError } from "commander";
import { listBenchSuites } from "../bench/suites.js";
import { ProximalError } from "../errors.js";
import { VERSION } from "../version.js";
import type { ActorFlags } from "./actor.js";
import type { EnjoyFlags } from "./enjoy.js";
import type { EvalFlags } from "./evaluate.js";
import type { ExportOnnxFlags } from "./exportOnnx.js";
import type { PlotFlags } from "./plot.js";
import type { RecordFlags } from "./record.js";
import type { TrainFlags } from "./train.js";

/** Exit status for each error code: 2 for bad input the user can fix, 1 for everything else. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ProximalError) {
    switch (error.code) {
      case "INVALID_OPTION":
      case "INVALID_ARGUMENT":
      case "UNKNOWN_ENV":
      case "UNKNOWN_NAME":
      case "MALFORMED_FILE":
      case "FILE_EXISTS":
      case "UNSUPPORTED_SPACE":
      case "UNSUPPORTED_MODEL":
      case "TRANSPORT_AUTH":
        return 2;
      default:
        return 1;
    }
  }
  return 1;
}

/** Run the `proximal` command with `argv` (without node and script) and return its exit status. */
export async function runCli(argv: string[]): Promise<number> {
  const program = new Command("proximal")
    .description(
      "Reinforcement learning in TypeScript: PPO and its family, from CartPole to language models.",
    )
    .version(VERSION)
    .option("--debug", "print stack traces on errors")
    .exitOverride()
    .showSuggestionAfterError(true);
  let status = 0;
  const collect = (value: string, previous: string[]) => [...previous, value];

  program
    .command("train")
    .description("train an algorithm on an env, into a run directory (or continue one with --resume)")
    .argument("[algo]", "algorithm name, e.g. ppo (see `proximal algos`)")
    .option("--env <id>", "environment id, e.g. CartPole-v1 (see `proximal envs`)")
    .option("--seed <n>", "seed of every random draw (default 0)")
    .option("--total-timesteps <n>", "planned environment steps (default: the preset's, else 100000)")
    .option("--num-envs <n>", "parallel envs (default: the preset's, else 1; tabular algorithms: 1 only)")
    .option("--config <file.yaml>", "YAML mapping of option names (camelCase) to values")
    .option("--set <key=value>", "override one option, e.g. learningRate=3e-4 (repeatable)", collect, [])
    .option("--preset <name>", "hyperparameter preset (default: the shipped one for this algo and env)")
    .option("--out <dir>", "run directory (default runs/<algo>-<env>-<timestamp>)")
    .option("--force", "replace an existing --out directory")
    .option(
      "--eval-every <n>",
      "evaluate every n timesteps (episodes, for a run budgeted in episodes); the best model goes to model/best",
    )
    .option("--eval-episodes <n>", "episodes per evaluation (default 5)")
    .option(
      "--checkpoint-every <n>",
      "checkpoint every n timesteps (episodes, for a run budgeted in episodes; default: a tenth of the total)",
    )
    .option(
      "--log-every <n>",
      "write a progress row (progress.jsonl/csv, TensorBoard, stdout) at the first update at or after every n timesteps (episodes, for a run budgeted in episodes), at each evaluation and at the end (default: a thousandth of the total, so a run logs about 1,000 rows)",
    )
    .option(
      "--stop-after <n>",
      "stop at the first update boundary at or after n timesteps (episodes, for a run budgeted in episodes), as Ctrl-C would",
    )
    .option(
      "--resume <dir>",
      "continue a stopped or interrupted run in place, to its planned total (other flags must match its config.json)",
    )
    .option("--demos <dir>", "demonstrations for bc, dagger and gail (written by `proximal record`)")
    .option("--expert <dir>", "the expert dagger queries: a run or model directory")
    .option(
      "--distributed <url>",
      "impala, apex-dqn: learn from actors anywhere, through this Redis server (redis://host:6379; credentials from PROXIMAL_REDIS_PASSWORD)",
    )
    .option("--local-actors <n>", "with --distributed: also start n `proximal actor` processes here")
    .option("--run <id>", "with --distributed: the run id actors join (default: the run directory's name)")
    .option("--json", "JSON lines on stdout even on a terminal")
    .action(async (algo: string | undefined, options: TrainFlags) => {
      status = await (await import("./train.js")).trainCommand(algo, options);
    });

  program
    .command("actor")
    .description(
      "an IMPALA or Ape-X actor: step envs with the learner's latest weights and send it trajectories (IMPALA) or prioritised transitions (Ape-X)",
    )
    .requiredOption(
      "--connect <url>",
      "the learner's Redis server, redis://host:6379 (credentials from PROXIMAL_REDIS_PASSWORD)",
    )
    .requiredOption("--run <id>", "the run to join (the learner prints it)")
    .option("--seed <n>", "seed of this actor's envs and sampling (default: random; give each actor its own)")
    .option("--actor-id <name>", "name in the learner's actor count (default <host>-<pid>)")
    .option(
      "--max-trajectories <n>",
      "stop after n messages (trajectories or transition batches; default: until Ctrl-C)",
    )
    .option(
      "--actor-index <i>",
      "apex-dqn: this actor's place i on the ε ladder ε^(1 + 7i/(N−1)), modulo N (default: the seed)",
    )
    .option("--json", "JSON lines on stdout")
    .action(async (options: ActorFlags) => {
      status = await (await import("./actor.js")).actorCommand(options);
    });

  program
    .command("record")
    .description("run a trained policy and save its episodes as demonstrations (for bc, dagger, gail)")
    .argument("<dir>", "a run directory (its final model) or a model directory")
    .option("--episodes <n>", "episodes to record (default 10)")
    .option("--seed <n>", "seed of the first reset and of sampled actions (default 0)")
    .option("--deterministic", "take the most likely action (the default, as eval)")
    .option("--stochastic", "sample actions from the policy instead")
    .option("--best", "use the run's best model (model/best)")
    .option("--out <dir>", "where to write the demonstrations (default ./demonstrations)")
    .option("--force", "replace an existing --out directory")
    .option("--json", 'print { "out", "envId", "episodes", "steps", "meanReturn", ... }')
    .action(async (dir: string, options: RecordFlags) => {
      status = await (await import("./record.js")).recordCommand(dir, options);
    });

  program
    .command("eval")
    .description("evaluate a trained model: mean and std of the return")
    .argument("<dir>", "a run directory (its final model) or a model directory")
    .option("--episodes <n>", "episodes to run (default 10)")
    .option("--seed <n>", "seed of the first reset and of sampled actions (default 0)")
    .option("--deterministic", "take the most likely action (the default, as SB3's evaluate_policy)")
    .option("--stochastic", "sample actions from the policy instead of taking the most likely one")
    .option("--best", "use the run's best model (model/best) instead of the final one")
    .option("--json", 'print { "meanReturn", "stdReturn", "meanLength", "episodes" }')
    .action(async (dir: string, options: EvalFlags) => {
      status = await (await import("./evaluate.js")).evalCommand(dir, options);
    });

  program
    .command("enjoy")
    .description("watch a trained policy play in the terminal (text renderer, classic control)")
    .argument("<dir>", "a run directory or a model directory")
    .option("--episodes <n>", "episodes to play (default 1)")
    .option("--seed <n>", "seed of the first reset (default 0)")
    .option("--fps <n>", "frames per second, 0 for as fast as possible (default 30)")
    .option("--deterministic", "take the most likely action (the default)")
    .option("--stochastic", "sample actions from the policy instead of taking the most likely one")
    .option("--best", "use the run's best model")
    .action(async (dir: string, options: EnjoyFlags) => {
      status = await (await import("./enjoy.js")).enjoyCommand(dir, options);
    });

  program
    .command("export")
    .description("export a trained model for deployment")
    .command("onnx")
    .description(
      "a run's policy (observation normalisation included) or an rlhf stage's GPT as an ONNX file: obs -> action, logits/mean/logStd, value, q",
    )
    .argument("<dir>", "a run directory, a model directory, or the output directory of rlhf sft/dpo/kto/ppo")
    .option("--out <file>", "the .onnx file to write (required)")
    .option("--force", "replace an existing --out file")
    .option("--best", "use the run's best model (model/best) instead of the final one")
    .option(
      "--action-mask",
      "add an actionMask input (bool [batch, n], true = allowed) for envs that report info.actionMask (Discrete actions)",
    )
    .option("--json", 'print { "out", "bytes", "model" }')
    .action(async (dir: string, options: ExportOnnxFlags) => {
      status = await (await import("./exportOnnx.js")).exportOnnxCommand(dir, options);
    });

  program
    .command("plot")
    .description(
      "learning curves of one or more runs, as SVG and PNG (runs with the same algo and env are averaged over seeds)",
    )
    .argument("<runs...>", "run directories")
    .option(
      "--out <file>",
      "output path without extension, or ending in .svg/.png (default: <first run>/plot)",
    )
    .option("--title <text>", "figure title")
    .action(async (runs: string[], options: PlotFlags) => {
      status = await (await import("./plot.js")).plotCommand(runs, options);
    });

  program
    .command("envs")
    .description("list the registered environments with their spaces and presets")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      status = await (await import("./listings.js")).envsCommand(options);
    });

  program
    .command("algos")
    .description("list the algorithms and their presets; with a name, its options")
    .argument("[name]", "an algorithm, to list its options")
    .option("--json", "print JSON")
    .action(async (name: string | undefined, options: { json?: boolean }) => {
      status = await (await import("./listings.js")).algosCommand(name, options);
    });

  program
    .command("info")
    .description("the versions, kernel backend (and why), SIMD, threads and cores: paste it into bug reports")
    .option(
      "--json",
      'print { "version", "node", "platform", "backend", "backendReason", "simd", "threads", "cores" }',
    )
    .action(async (options: { json?: boolean }) => {
      status = await (await import("./info.js")).infoCommand(options);
    });

  program
    .command("bench")
    .description(`run a benchmark suite: ${listBenchSuites().join(", ")}`)
    .argument("<suite>", "the suite to run")
    .option("--json", "print one JSON object instead of a table")
    .option("--quick", "a shorter run, for smoke tests (fewer repetitions)")
    .option("--seed <n>", "seed of single-run suites (dqn, sac); default 0")
    .option("--arch <name>", "lm: model family, gpt (default) or llama")
    .option("--size <name>", "lm --arch llama: model size, e.g. 135m (SmolLM2-135M's shape, random weights)")
    .action(
      async (
        suite: string,
        options: { json?: boolean; quick?: boolean; seed?: string; arch?: string; size?: string },
      ) => {
        const seed = options.seed === undefined ? undefined : Number(options.seed);
        if (seed !== undefined && !Number.isInteger(seed)) {
          throw new ProximalError("INVALID_OPTION", `--seed must be an integer, got "${options.seed}".`);
        }
        await (await import("../bench/suites.js")).runBenchSuite(suite, {
          json: options.json === true,
          quick: options.quick === true,
          ...(seed === undefined ? {} : { seed }),
          ...(options.arch === undefined ? {} : { arch: options.arch }),
          ...(options.size === undefined ? {} : { size: options.size }),
        });
      },
    );

  // The `rlhf` and `lm` commands load the language-model stack as they are defined (about 0.3 s of a
  // process's start on a 2-core machine): only when the command is one of theirs, or not known here
  // (help, a typo's suggestions).
  const command = argv.find((arg) => !arg.startsWith("-"));
  if (command === undefined || !program.commands.some((c) => c.name() === command)) {
    const [{ registerRlhfCommands }, { registerLmCommands }] = await Promise.all([
      import("./rlhf.js"),
      import("./lm.js"),
    ]);
    registerRlhfCommands(program, (code) => {
      status = code;
    });
    registerLmCommands(program, (code) => {
      status = code;
    });
  }

  try {
    await program.parseAsync(argv, { from: "user" });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message (unknown command, missing argument, --help)
      return error.exitCode === 0 ? 0 : 2;
    }
    const debug = argv.includes("--debug");
    if (error instanceof ProximalError && !debug) {
      process.stderr.write(`proximal: ${error.message}\n`);
    } else {
      process.stderr.write(
        `proximal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    return exitCodeFor(error);
  }
}
