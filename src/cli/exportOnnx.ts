/**
 * `proximal export onnx <run or model dir> --out policy.onnx`: a trained policy (any algorithm with a
 * network, its observation normalisation baked in) or an `rlhf sft|dpo|kto|ppo` GPT as an ONNX file,
 * written atomically; an existing file is only replaced with `--force`.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ProximalError } from "../errors.js";
import { writeFileAtomic } from "../io/atomicWrite.js";
import { METADATA_FILE } from "../io/checkpoint.js";
import { exportOnnx } from "../io/onnx/exportOnnx.js";
import type { OnnxObservationNormalization } from "../io/onnx/policyGraph.js";
import { loadSavedModel } from "./evaluate.js";
import { loadPolicyModel } from "./rlhfStages.js";
import { exists, resolveModelDir } from "./runDirectory.js";

export interface ExportOnnxFlags {
  out?: string;
  force?: boolean;
  best?: boolean;
  json?: boolean;
  actionMask?: boolean;
}

/** Export the model of a run directory, a model directory or an RLHF stage's output directory. */
export async function exportOnnxCommand(path: string, flags: ExportOnnxFlags): Promise<number> {
  const out = flags.out;
  if (out === undefined || out === "") {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "export onnx needs --out <file.onnx>, e.g. --out policy.onnx.",
    );
  }
  if (flags.force !== true && (await exists(out))) {
    throw new ProximalError(
      "FILE_EXISTS",
      `${out} already exists. Pick another --out, or pass --force to replace it.`,
    );
  }
  const modelDir = await resolveModelDir(path, { best: flags.best });
  const json = JSON.parse(await readFile(join(modelDir, METADATA_FILE), "utf8")) as Record<string, unknown>;
  let bytes: Uint8Array;
  let what: string;
  if (typeof json.trainer === "string") {
    if (flags.actionMask === true) {
      throw new ProximalError(
        "INVALID_ARGUMENT",
        `--action-mask is for policies; ${modelDir} holds a GPT. Drop it.`,
      );
    }
    const gpt = await loadPolicyModel(modelDir, "export onnx");
    bytes = exportOnnx(gpt);
    what = `GPT (${json.trainer}): input_ids int64 [batch, sequence] -> logits [batch, sequence, ${gpt.config.vocabSize}]`;
  } else {
    const { model, normalization } = await loadSavedModel(path, { best: flags.best });
    // the run's normalization.json when there is one (what `eval` applies), else the model's own
    const observationNormalization: OnnxObservationNormalization | undefined =
      normalization === null
        ? undefined
        : {
            mean: normalization.statistics.mean,
            var: normalization.statistics.var,
            epsilon: normalization.epsilon,
            clip: normalization.clipObservation,
          };
    bytes = exportOnnx(model, { observationNormalization, actionMask: flags.actionMask === true });
    const inputs = flags.actionMask === true ? "obs float32, actionMask bool" : "obs float32";
    what = `${model.algorithmName} policy: ${inputs} -> action (deterministic)`;
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, bytes);
  if (flags.json) process.stdout.write(`${JSON.stringify({ out, bytes: bytes.length, model: modelDir })}\n`);
  else
    process.stdout.write(`wrote ${out} (${bytes.length} bytes, ONNX opset 17) from ${modelDir}: ${what}\n`);
  return 0;
}
