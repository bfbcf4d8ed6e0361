/**
 * `proximal train ppo` runs in a child Node process started with a small young generation, because
 * V8 fixes the young generation's size when the process starts: `--max-semi-space-size` cannot be
 * set from inside (v8.setFlagsFromString comes too late), and the default lets each semi-space grow
 * to 16 MiB (32 MiB resident with both halves). Measured on `train ppo --env CartPole-v1` (rlzoo,
 * 100k steps; BENCHMARKS.md "engine"): peak RSS about 150 MB with the defaults, under 100 MB with
 * 2 MiB semi-spaces, and less CPU time too (the young generation stays in cache). Not for every
 * algorithm: a SAC update ([128, 128] networks, batch 256) keeps more short-lived objects alive than
 * 2 MiB holds, and took 15-25% more CPU time with it (8 and 16 MiB were fastest), so algorithms not
 * measured to gain keep V8's sizing. `MALLOC_ARENA_MAX=2` caps glibc's per-thread malloc arenas
 * (V8's compiler and GC threads each got one), which held a few more MB of freed memory; other C
 * libraries ignore it.
 *
 * `--single-threaded-gc` runs V8's collector on the main thread only. With 2 MiB semi-spaces a
 * scavenge comes every few gradient steps, and each one woke V8's helper threads (futex calls,
 * system time) for a collection that takes tens of microseconds. Measured on the same command,
 * alternating, 2 cores: 3.60-3.75 s wall with it against 4.09-4.33 s without in one set, medians
 * 5.26 and 5.29 s in a second on a slower phase of the machine (CPU time 5.91 against 6.11 s): a
 * small gain at most, never a loss (BENCHMARKS.md "engine", session 12).
 *
 * This module imports nothing heavy, so the launcher that waits for the child loads only Node itself.
 */

/** The V8 flag that sizes the young generation (MiB per semi-space). */
export const SEMI_SPACE_FLAG = "--max-semi-space-size";
/** The semi-space size the child runs with, in MiB (measured: see the module comment). */
export const SEMI_SPACE_MIB = 2;
/** The V8 flag that keeps garbage collection on the main thread (see the module comment). */
export const SINGLE_THREADED_GC_FLAG = "--single-threaded-gc";
/** The algorithms `train` relaunches for, each measured to use less memory and no more CPU time. */
export const SMALL_YOUNG_GENERATION: ReadonlySet<string> = new Set(["ppo"]);
/** Set in the child's environment, so it does not relaunch itself again. */
export const RELAUNCHED_ENV = "PROXIMAL_RELAUNCHED";
/** Set to 0 to run in the calling process as started (no child, Node's default heap sizing). */
export const RELAUNCH_ENV = "PROXIMAL_RELAUNCH";

/** How to start the child: Node flags (before the script) and environment; null to run here. */
export interface RelaunchPlan {
  execArgv: string[];
  env: Record<string, string | undefined>;
}

/**
 * Whether and how to relaunch for `args` (the command line after the script). Only `train` of an
 * algorithm in {@link SMALL_YOUNG_GENERATION} relaunches; never when already relaunched, when
 * `PROXIMAL_RELAUNCH=0`, or when the user sized the young generation already (in the Node flags or
 * NODE_OPTIONS), which is then respected.
 */
export function relaunchPlan(
  args: readonly string[],
  execArgv: readonly string[],
  env: Record<string, string | undefined>,
): RelaunchPlan | null {
  if (args[0] !== "train" || !SMALL_YOUNG_GENERATION.has(args[1] ?? "")) return null;
  if (env[RELAUNCHED_ENV] === "1" || env[RELAUNCH_ENV] === "0") return null;
  const sized = (flags: string) => flags.includes(SEMI_SPACE_FLAG) || flags.includes("--max_semi_space_size");
  if (execArgv.some(sized) || sized(env.NODE_OPTIONS ?? "")) return null;
  return {
    execArgv: [...execArgv, `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MIB}`, SINGLE_THREADED_GC_FLAG],
    env: { ...env, [RELAUNCHED_ENV]: "1", MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? "2" },
  };
}
