/**
 * The options form: one field per option of the chosen preset (numbers, switches, text, and JSON for
 * nested values such as `policy` or a schedule), plus the budget, seed and number of envs. Values
 * go to the algorithm's constructor as typed; the constructor checks them and its error (with the
 * fix) is shown in the page.
 */
import type { PresetEntry } from "./protocol.js";

/** The fields every run has, besides the preset's own options. */
export interface RunFields {
  budgetKey: "totalTimesteps" | "totalEpisodes";
  budget: number;
  seed: number;
  numEnvs: number | null;
}

function field(label: string, input: HTMLInputElement | HTMLTextAreaElement, note = ""): HTMLElement {
  const row = document.createElement("label");
  row.className = "option";
  const name = document.createElement("span");
  name.textContent = label;
  if (note !== "") name.title = note;
  row.append(name, input);
  return row;
}

function input(name: string, value: unknown): HTMLInputElement | HTMLTextAreaElement {
  if (typeof value === "boolean") {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = value;
    box.name = name;
    box.dataset.kind = "boolean";
    return box;
  }
  if (typeof value === "object" && value !== null) {
    const area = document.createElement("textarea");
    area.rows = 1;
    area.value = JSON.stringify(value);
    area.name = name;
    area.dataset.kind = "json";
    return area;
  }
  const text = document.createElement("input");
  text.type = "text";
  text.value = String(value);
  text.name = name;
  text.dataset.kind = typeof value === "number" ? "number" : "string";
  return text;
}

/** Fill `form` for `preset` (null: the algorithm's defaults) on a tabular algorithm or not. */
export function renderOptionsForm(form: HTMLElement, preset: PresetEntry | null, tabular: boolean): void {
  form.replaceChildren();
  const options = { ...(preset?.options ?? {}) };
  const budgetKey = tabular ? "totalEpisodes" : "totalTimesteps";
  const budget = (tabular ? preset?.totalEpisodes : preset?.totalTimesteps) ?? (tabular ? 5000 : 50_000);
  const run: Record<string, unknown> = { [budgetKey]: budget, seed: options.seed ?? 0 };
  if (!tabular) run.numEnvs = options.numEnvs ?? 1;
  delete options.seed;
  delete options.numEnvs;
  for (const [key, value] of Object.entries(run)) form.append(field(key, input(key, value)));
  for (const [key, value] of Object.entries(options)) form.append(field(key, input(key, value)));
  if (preset?.normalize) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = `normalize: ${JSON.stringify(preset.normalize)} (as the preset asks)`;
    form.append(note);
  }
}

/** The form's values: the constructor options and the budget. Throws naming a field it cannot read. */
export function readOptionsForm(form: HTMLElement): {
  options: Record<string, unknown>;
  budget: { totalTimesteps: number } | { totalEpisodes: number };
} {
  const options: Record<string, unknown> = {};
  let budget: { totalTimesteps: number } | { totalEpisodes: number } | null = null;
  for (const element of form.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>("input, textarea")) {
    const { name } = element;
    let value: unknown;
    switch (element.dataset.kind) {
      case "boolean":
        value = (element as HTMLInputElement).checked;
        break;
      case "number":
        value = Number(element.value);
        if (element.value.trim() === "" || !Number.isFinite(value)) {
          throw new Error(`${name}: "${element.value}" is not a number.`);
        }
        break;
      case "json":
        try {
          value = JSON.parse(element.value);
        } catch {
          throw new Error(`${name}: "${element.value}" is not valid JSON.`);
        }
        break;
      default:
        value = element.value;
    }
    if (name === "totalTimesteps") budget = { totalTimesteps: value as number };
    else if (name === "totalEpisodes") budget = { totalEpisodes: value as number };
    else options[name] = value;
  }
  if (budget === null) throw new Error("The form has no budget field.");
  return { options, budget };
}
