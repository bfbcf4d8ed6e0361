/**
 * A Node built-in module (`"node:worker_threads"`, `"node:os"`) when running under Node >= 20.16, else
 * undefined. Read through `process.getBuiltinModule` rather than a static import, so the modules that
 * use it still load in a browser and can fall back or say what they need.
 */
export function nodeBuiltin<T>(id: `node:${string}`): T | undefined {
  return (
    globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
  ).process?.getBuiltinModule?.(id) as T | undefined;
}
