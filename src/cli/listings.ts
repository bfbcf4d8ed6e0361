/** `proximal envs` and `proximal algos [name]`: what can be trained, on what, with which presets. */

import { printTable } from "../bench/suites.js";
import { registry } from "../envs/registry.js";
import type { SpaceDescription } from "../envs/spaces/space.js";
import { ALGORITHMS, availableAlgorithms, loadAlgorithmClass } from "./algorithms.js";
import { optionSpecs } from "./optionSchema.js";
import { presetCoverage } from "./presetBridge.js";

/** `Box(4)`, `Discrete(2)`, ... from a space's JSON description. */
export function describeSpace(space: SpaceDescription): string {
  switch (space.type) {
    case "Discrete":
      return space.start === 0 ? `Discrete(${space.n})` : `Discrete(${space.n}, start=${space.start})`;
    case "Box":
      return `Box(${space.shape.join("x")})`;
    case "MultiDiscrete":
      return `MultiDiscrete([${space.nvec.join(", ")}])`;
    case "MultiBinary":
      return `MultiBinary(${space.n})`;
    case "Dict":
      return `Dict(${Object.keys(space.spaces).join(", ")})`;
    case "Tuple":
      return `Tuple(${space.spaces.length})`;
    default:
      return JSON.stringify(space satisfies never);
  }
}

async function presetsByEnv(): Promise<Map<string, string[]>> {
  const byEnv = new Map<string, string[]>();
  for (const algo of await availableAlgorithms()) {
    for (const [preset, envIds] of Object.entries(await presetCoverage(algo))) {
      for (const id of envIds) byEnv.set(id, [...(byEnv.get(id) ?? []), `${algo}:${preset}`]);
    }
  }
  return byEnv;
}

export async function envsCommand(flags: { json?: boolean }): Promise<number> {
  const presets = await presetsByEnv();
  const rows = registry.list().map((r) => ({
    id: r.id,
    observationSpace: describeSpace(r.observationSpace),
    actionSpace: describeSpace(r.actionSpace),
    maxEpisodeSteps: r.maxEpisodeSteps,
    rewardThreshold: r.rewardThreshold,
    presets: presets.get(r.id) ?? [],
  }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  printTable(
    rows.map((r) => ({
      id: r.id,
      observations: r.observationSpace,
      actions: r.actionSpace,
      "max steps": r.maxEpisodeSteps ?? "-",
      solved: r.rewardThreshold ?? "-",
      presets: r.presets.join(" ") || "-",
    })),
  );
  return 0;
}

export async function algosCommand(name: string | undefined, flags: { json?: boolean }): Promise<number> {
  if (name !== undefined) {
    const { name: algo } = await loadAlgorithmClass(name);
    const specs = await optionSpecs(`${ALGORITHMS[algo].className}Options`);
    const coverage = await presetCoverage(algo);
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ algo, ...ALGORITHMS[algo], presets: coverage, options: [...specs.values()] }, null, 2)}\n`,
      );
      return 0;
    }
    process.stdout.write(`${algo} (${ALGORITHMS[algo].className}): ${ALGORITHMS[algo].summary}\n\n`);
    process.stdout.write("Options (set with --set name=value or in a --config YAML file):\n");
    for (const spec of specs.values()) {
      process.stdout.write(
        `  ${spec.name}: ${spec.type}${spec.defaultValue ? `  [default ${spec.defaultValue}]` : ""}\n`,
      );
      if (spec.doc) process.stdout.write(`      ${spec.doc}\n`);
    }
    process.stdout.write("\nPresets (--preset name):\n");
    for (const [preset, envIds] of Object.entries(coverage))
      process.stdout.write(`  ${preset}: ${envIds.join(", ")}\n`);
    return 0;
  }
  const rows = [];
  for (const algo of await availableAlgorithms()) {
    const coverage = await presetCoverage(algo);
    rows.push({
      algo,
      className: ALGORITHMS[algo].className,
      summary: ALGORITHMS[algo].summary,
      presets: Object.keys(coverage),
    });
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  printTable(
    rows.map((r) => ({
      algo: r.algo,
      class: r.className,
      presets: r.presets.join(" ") || "-",
      summary: r.summary,
    })),
  );
  process.stdout.write("\nOptions of one algorithm: proximal algos <name>\n");
  return 0;
}
