/**
 * Print a warning once: through `process.emitWarning` on Node (so Node's `--no-warnings` and
 * `process.on("warning")` listeners apply), `console.warn` elsewhere.
 */
export function warnOnce(warning: string, code: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  const runtime = (
    globalThis as { process?: { emitWarning?: (message: string, options: { code: string }) => void } }
  ).process;
  if (typeof runtime?.emitWarning === "function") runtime.emitWarning(warning, { code });
  else console.warn(warning);
}

const warned = new Set<string>();
