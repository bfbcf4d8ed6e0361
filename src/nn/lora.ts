/**
 * LoRA, low-rank adaptation (Hu et al. 2021, arXiv:2106.09685, §4.1, eq. 3): a frozen linear layer
 * `h = W₀ x` is trained through a low-rank update, `h = W₀ x + (α / r) B A x`, with `A: [r, in]`
 * Kaiming-uniform and `B: [out, r]` zero, so training starts from the base model exactly. Only `A`
 * and `B` are trained; the base weights stay shared and frozen, so the base model *is* the reference
 * policy of RLHF once the adapters are switched off ({@link withLoraDisabled}).
 *
 * Module names and semantics follow Hugging Face PEFT's `LoraConfig` (`r`, `lora_alpha`,
 * `lora_dropout`, `target_modules` matched as module-name suffixes, `"all-linear"`), and the adapter
 * tensors are named as PEFT names them (`…q_proj.lora_A.weight`), so `io/peftAdapter.ts` reads and
 * writes PEFT's files.
 */
import { ProximalError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { add, mul } from "../tensor/ops.js";
import type { Tensor } from "../tensor/tensor.js";
import { Dropout } from "./dropout.js";
import { Linear, type LinearAdapter } from "./linear.js";
import { Module } from "./module.js";

/** Which linear layers get an adapter: module-name suffixes (PEFT semantics), or every linear layer. */
export type LoraTargetModules = readonly string[] | "all-linear";

/** Options of {@link applyLora} (PEFT's `LoraConfig` fields in camelCase). */
export interface LoraConfig {
  /** Rank r of the update `B A` (PEFT `r`). @defaultValue 8 (PEFT) */
  rank?: number;
  /** α: the update is scaled by α / r (PEFT `lora_alpha`). @defaultValue 8 (PEFT) */
  alpha?: number;
  /** Dropout on the adapter's input while training (PEFT `lora_dropout`). @defaultValue 0 */
  dropout?: number;
  /**
   * Layers to adapt (PEFT `target_modules`): a layer is adapted when its dotted name equals an entry
   * or ends with `.` + the entry (`["q_proj", "v_proj"]`); `"all-linear"` adapts every linear layer
   * but the output head (`lm_head`). Names matching no linear layer are an error listing the model's.
   */
  targetModules: LoraTargetModules;
  /** Scale by α / √r instead of α / r (Kalajdzievski 2023, arXiv:2312.03732; PEFT `use_rslora`). @defaultValue false */
  useRslora?: boolean;
  /** Generator of `A`'s initial values and of the dropout masks. @defaultValue new Rng(0) */
  rng?: Rng;
}

/** A {@link LoraConfig} with every default filled in (and `targetModules` as given). */
export type ResolvedLoraConfig = Required<Omit<LoraConfig, "rng">>;

/** Fill the defaults of `config` and check it; throws INVALID_OPTION naming the field. */
export function resolveLoraConfig(config: LoraConfig): ResolvedLoraConfig {
  const c: ResolvedLoraConfig = {
    rank: config.rank ?? 8,
    alpha: config.alpha ?? 8,
    dropout: config.dropout ?? 0,
    targetModules: config.targetModules,
    useRslora: config.useRslora ?? false,
  };
  const fail = (message: string): never => {
    throw new ProximalError("INVALID_OPTION", `LoraConfig: ${message}`);
  };
  if (!Number.isInteger(c.rank) || c.rank < 1) fail(`rank must be a positive integer, got ${c.rank}.`);
  if (!Number.isFinite(c.alpha) || c.alpha <= 0) fail(`alpha must be a positive number, got ${c.alpha}.`);
  if (!(c.dropout >= 0 && c.dropout < 1)) fail(`dropout must be in [0, 1), got ${c.dropout}.`);
  const targets = c.targetModules;
  if (targets !== "all-linear") {
    if (
      !Array.isArray(targets) ||
      targets.length === 0 ||
      targets.some((t) => typeof t !== "string" || t === "")
    ) {
      fail(
        `targetModules must be "all-linear" or a non-empty list of module names such as ["q_proj", "v_proj"], got ${JSON.stringify(targets)}.`,
      );
    }
  }
  return c;
}

/** The scale of the low-rank update: α / r, or α / √r with rsLoRA. */
export function loraScaling(config: Pick<ResolvedLoraConfig, "rank" | "alpha" | "useRslora">): number {
  return config.useRslora ? config.alpha / Math.sqrt(config.rank) : config.alpha / config.rank;
}

/**
 * The adapter of one linear layer: `y + (α / r) · B A dropout(x)` (eq. 3), attached to the layer with
 * {@link Linear.setAdapter} so `lora_A`, `lora_B` (and `lora_dropout`) become the layer's children.
 * `A` starts Kaiming-uniform with a = √5, as PEFT's `reset_lora_parameters` (which is `U(-1/√in, 1/√in)`,
 * torch.nn.Linear's own init), and `B` at zero.
 */
export class LoraAdapter extends Module implements LinearAdapter {
  readonly lora_A: Linear;
  readonly lora_B: Linear;
  readonly lora_dropout: Dropout | null;
  readonly rank: number;
  /** α of the config it was built with. */
  readonly alpha: number;
  readonly useRslora: boolean;
  readonly scaling: number;
  /** Off: the layer computes its base output only (the reference model of RLHF). */
  enabled = true;

  constructor(inFeatures: number, outFeatures: number, config: ResolvedLoraConfig, rng: Rng) {
    super();
    this.rank = config.rank;
    this.alpha = config.alpha;
    this.useRslora = config.useRslora;
    this.scaling = loraScaling(config);
    this.lora_A = this.registerModule("lora_A", new Linear(inFeatures, config.rank, { rng, bias: false }));
    this.lora_B = this.registerModule(
      "lora_B",
      new Linear(config.rank, outFeatures, { rng, bias: false, init: "none" }),
    );
    this.lora_dropout =
      config.dropout > 0 ? this.registerModule("lora_dropout", new Dropout(config.dropout, { rng })) : null;
  }

  /** `y + scaling · B A dropout(x)`, or `y` while disabled. */
  adapt(x: Tensor, y: Tensor): Tensor {
    if (!this.enabled) return y;
    const input = this.lora_dropout === null ? x : this.lora_dropout.forward(x);
    return add(y, mul(this.lora_B.forward(this.lora_A.forward(input)), this.scaling));
  }

  /** The dense update `scaling · B A`, [out, in] (what merging adds to the base weight). */
  deltaWeight(): Float32Array {
    const a = this.lora_A.weight.data; // [r, in]
    const b = this.lora_B.weight.data; // [out, r]
    const r = this.rank;
    const inFeatures = this.lora_A.inFeatures;
    const outFeatures = this.lora_B.outFeatures;
    const delta = new Float32Array(outFeatures * inFeatures);
    for (let o = 0; o < outFeatures; o++) {
      for (let k = 0; k < r; k++) {
        const bk = b[o * r + k] * this.scaling;
        if (bk === 0) continue;
        const row = o * inFeatures;
        const aRow = k * inFeatures;
        for (let i = 0; i < inFeatures; i++) delta[row + i] += bk * a[aRow + i];
      }
    }
    return delta;
  }
}

/** The linear layers of `model` with their dotted names, adapters' own layers left out. */
export function linearLayers(model: Module): [string, Linear][] {
  return model
    .namedModules()
    .filter(
      (entry): entry is [string, Linear] => entry[1] instanceof Linear && !/(^|\.)lora_[AB]$/.test(entry[0]),
    );
}

/** PEFT's `target_modules` test: the name equals a target or ends with `.` + a target. */
function matchesTarget(name: string, targets: readonly string[]): boolean {
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

/**
 * The names of the layers `targetModules` selects in `model`. `"all-linear"` is every linear layer
 * but `lm_head` (PEFT leaves out the output layer). A target matching no linear layer throws
 * UNKNOWN_NAME with the model's linear layer names.
 */
export function loraTargetNames(model: Module, targetModules: LoraTargetModules): string[] {
  const layers = linearLayers(model).map(([name]) => name);
  if (targetModules === "all-linear") return layers.filter((name) => name !== "lm_head");
  const unmatched = targetModules.filter((t) => !layers.some((name) => matchesTarget(name, [t])));
  if (unmatched.length > 0) {
    const suffixes = [...new Set(layers.map((name) => name.slice(name.lastIndexOf(".") + 1)))];
    throw new ProximalError(
      "UNKNOWN_NAME",
      `LoRA: target module(s) ${unmatched.map((t) => `"${t}"`).join(", ")} match no linear layer of this ${model.constructor.name}. Its linear layers are named ${suffixes.map((s) => `"${s}"`).join(", ")} (or pass "all-linear").`,
    );
  }
  return layers.filter((name) => matchesTarget(name, targetModules));
}

/**
 * Add LoRA adapters to `model`'s target layers, in place, and freeze everything else in it (every
 * parameter that was there before gets `requiresGrad` off), so `model.trainableParameters()` is the
 * adapters alone. Returns the adapters by layer name.
 *
 * To keep a head trainable (a reward model's score head, a value head), apply LoRA to the backbone
 * only: `applyLora(rewardModel.transformer, …)`.
 *
 * @example
 * const adapters = applyLora(model, { rank: 8, alpha: 16, targetModules: ["q_proj", "v_proj"] });
 * model.trainableParameters().length; // 2 per adapted layer
 */
export function applyLora(model: Module, config: LoraConfig): Map<string, LoraAdapter> {
  const c = resolveLoraConfig(config);
  if (hasLora(model)) {
    throw new ProximalError(
      "INVALID_ARGUMENT",
      "applyLora: this model already has LoRA adapters. Merge them (mergeLora) or remove them (unloadLora) first.",
    );
  }
  const names = loraTargetNames(model, c.targetModules);
  const byName = new Map(model.namedModules());
  const rng = config.rng ?? new Rng(0);
  for (const p of model.parameters()) p.requireGrad(false);
  const adapters = new Map<string, LoraAdapter>();
  for (const name of names) {
    const layer = byName.get(name) as Linear;
    const adapter = new LoraAdapter(layer.inFeatures, layer.outFeatures, c, rng);
    adapter.train(model.training);
    layer.setAdapter(adapter);
    adapters.set(name, adapter);
  }
  return adapters;
}

/** The LoRA adapters of `model` by the name of the layer they sit on (empty without LoRA). */
export function loraAdapters(model: Module): Map<string, LoraAdapter> {
  const out = new Map<string, LoraAdapter>();
  for (const [name, layer] of linearLayers(model)) {
    if (layer.adapter instanceof LoraAdapter) out.set(name, layer.adapter);
  }
  return out;
}

/** Whether `model` carries LoRA adapters. */
export function hasLora(model: Module): boolean {
  return loraAdapters(model).size > 0;
}

/**
 * Run `fn` with every LoRA adapter of `model` switched off (PEFT's `disable_adapter()` context), so
 * `model` computes as its frozen base: the reference model of RLHF without a second copy of the
 * weights. The adapters' previous state is restored even if `fn` throws.
 */
export function withLoraDisabled<T>(model: Module, fn: () => T): T {
  const adapters = [...loraAdapters(model).values()];
  const previous = adapters.map((a) => a.enabled);
  for (const a of adapters) a.enabled = false;
  try {
    return fn();
  } finally {
    adapters.forEach((a, i) => {
      a.enabled = previous[i];
    });
  }
}

/**
 * Fold every adapter into its base weight, `W ← W₀ + (α / r) B A`, and remove the adapters (PEFT's
 * `merge_and_unload`): `model` is a plain model again, computing what it computed with the adapters,
 * ready for `savePretrained`. Its parameters stay frozen; call `requireGrad()` on them to train it fully.
 */
export function mergeLora(model: Module): void {
  const layers = loraLayersOrThrow(model, "mergeLora");
  for (const layer of layers) {
    const adapter = layer.adapter as LoraAdapter;
    const delta = adapter.deltaWeight();
    const w = layer.weight.data;
    for (let i = 0; i < w.length; i++) w[i] += delta[i];
    layer.setAdapter(null);
  }
}

/** Remove every adapter without merging it (PEFT's `unload`): `model` is its base again. */
export function unloadLora(model: Module): void {
  for (const layer of loraLayersOrThrow(model, "unloadLora")) layer.setAdapter(null);
}

function loraLayersOrThrow(model: Module, caller: string): Linear[] {
  const layers = linearLayers(model)
    .map(([, layer]) => layer)
    .filter((layer) => layer.adapter instanceof LoraAdapter);
  if (layers.length === 0) {
    throw new ProximalError("INVALID_ARGUMENT", `${caller}: the model has no LoRA adapters (see applyLora).`);
  }
  return layers;
}
