/**
 * Live training charts with uPlot: one panel per kind of statistic an algorithm's `onUpdate`
 * reports, plotted against `time/timesteps`. A panel's series are the keys it matches in the rows
 * seen so far; a panel whose keys the algorithm never reports says so.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

interface Panel {
  title: string;
  matches(key: string): boolean;
  element: HTMLElement;
  keys: string[];
  plot: uPlot | null;
}

/** A chart: its title and the stat keys it plots. */
export interface PanelSpec {
  title: string;
  matches(key: string): boolean;
}

/** The RL page's panels. */
export const RL_PANELS: PanelSpec[] = [
  { title: "Episode return", matches: (key) => key === "rollout/episodeReturn" },
  { title: "Losses", matches: (key) => /^train\/(.*Loss|loss)$/.test(key) },
  { title: "KL (approx.)", matches: (key) => key === "train/approxKl" },
  { title: "Entropy", matches: (key) => key === "train/entropy" },
  { title: "Clip fraction", matches: (key) => key === "train/clipFraction" },
];

/** A y tick: tiny and huge values in exponent form (uPlot's default rounds 0.004 to "0"). */
function tickLabel(value: number): string {
  if (value === 0) return "0";
  const size = Math.abs(value);
  return size < 0.01 || size >= 1e5 ? value.toExponential(1) : String(Number(value.toPrecision(4)));
}

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

export class TrainingCharts {
  private readonly panels: Panel[];
  private readonly x: number[] = [];
  private readonly columns = new Map<string, (number | null)[]>();
  private pending = false;

  constructor(
    container: HTMLElement,
    readonly panelSpecs: PanelSpec[] = RL_PANELS,
    /** What the rows' `time/timesteps` counts, for the x axis. */
    readonly xLabel = "timesteps",
  ) {
    container.replaceChildren();
    this.panels = panelSpecs.map(({ title, matches }) => {
      const element = document.createElement("figure");
      element.className = "chart";
      element.dataset.title = title;
      element.innerHTML = `<figcaption>${title}</figcaption><p class="empty">waiting for the first update</p>`;
      container.append(element);
      return { title, matches, element, keys: [], plot: null };
    });
  }

  /** Rows from `onUpdate`, oldest first. */
  add(rows: Record<string, number>[]): void {
    for (const row of rows) {
      const index = this.x.length;
      this.x.push(row["time/timesteps"] ?? row["train/episodes"] ?? index);
      for (const [key, value] of Object.entries(row)) {
        let column = this.columns.get(key);
        if (column === undefined) {
          column = new Array<number | null>(index).fill(null);
          this.columns.set(key, column);
        }
        column.push(Number.isFinite(value) ? value : null);
      }
      for (const column of this.columns.values()) if (column.length < this.x.length) column.push(null);
    }
    // draw at most ten times a second, however many messages arrive (a timer, not
    // requestAnimationFrame, which headless and background pages may never call)
    if (!this.pending) {
      this.pending = true;
      setTimeout(() => {
        this.pending = false;
        this.redraw();
      }, 100);
    }
  }

  /** Say which panels the algorithm did not report, once training is over. */
  finish(algorithm: string): void {
    for (const panel of this.panels) {
      if (panel.plot === null) {
        panel.element.querySelector(".empty")!.textContent = `not reported by ${algorithm}`;
      }
    }
  }

  private redraw(): void {
    for (const panel of this.panels) {
      const keys = [...this.columns.keys()].filter((key) => panel.matches(key));
      if (keys.length === 0) continue;
      if (panel.plot === null || keys.length !== panel.keys.length) {
        panel.plot?.destroy();
        panel.element.querySelector(".empty")?.remove();
        panel.keys = keys;
        panel.plot = new uPlot(
          {
            width: Math.max(240, panel.element.clientWidth - 8),
            height: 160,
            legend: { show: true, live: false },
            scales: { x: { time: false } },
            axes: [{ size: 30 }, { size: 56, values: (_plot, ticks) => ticks.map(tickLabel) }],
            series: [
              { label: this.xLabel },
              ...keys.map((key, i) => ({
                label: key.replace(/^(train|rollout)\//, ""),
                stroke: COLORS[i % COLORS.length],
                width: 1.5,
                spanGaps: true,
              })),
            ],
          },
          [[], ...keys.map(() => [])],
          panel.element,
        );
      }
      panel.plot.setData([
        this.x,
        ...panel.keys.map((key) => this.columns.get(key) ?? []),
      ] as uPlot.AlignedData);
      panel.element.dataset.points = String(this.x.length);
    }
  }
}
