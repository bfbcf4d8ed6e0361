/**
 * Where a saved model's files live: a directory (Node), an in-memory archive that becomes a `Blob` or
 * bytes (browser and Node), or IndexedDB (browser). Every `save` and `load` goes through this one
 * contract, so the same files (`model.json`, `model.safetensors`, and `replay.safetensors` when the
 * replay buffer is saved) go every way: a model trained by the CLI into a directory loads in a page
 * from a tar of that directory, and a model saved in a page unpacks into a directory the CLI reads.
 */
import { ProximalError } from "../errors.js";
import { nodeFiles } from "../nodeBuiltin.js";
import { writeFileAtomic } from "./atomicWrite.js";
import { readTar, writeTar } from "./tar.js";

/** A flat set of named files that a model is saved into or loaded from. */
export interface ModelFiles {
  /** Where the files are, for messages: a path, "a model archive", "IndexedDB model \"x\"". */
  readonly description: string;
  /** The bytes of `name`, or undefined when there is no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Create or replace `name`. */
  write(name: string, data: Uint8Array): Promise<void>;
}

/** Where `save` can write: a directory path (Node) or any {@link ModelFiles}. */
export type ModelTarget = string | ModelFiles;

/**
 * Where `load` can read: a directory path (Node), any {@link ModelFiles}, or the bytes of a model
 * archive as a `Blob`/`File` (e.g. from `<input type="file">` or `fetch(...).then(r => r.blob())`),
 * an `ArrayBuffer` or a `Uint8Array`.
 */
export type ModelSource = ModelTarget | Blob | ArrayBuffer | Uint8Array;

/** What to use in a browser instead of a path, for the error a path gets there. */
export const BROWSER_MODEL_FILES =
  'In a browser, save into a ModelArchive (then archive.toBlob()) or an IndexedDBModelFiles("name"), and load from a Blob, File, ArrayBuffer or one of those.';

/**
 * A model's files held in memory, written out as one tar archive: `tar -xf` of it gives the model
 * directory. Save into it, then download `toBlob()`; load a model with `PPO.load(blob)` directly.
 *
 * @example
 * const archive = new ModelArchive();
 * await model.save(archive);
 * const blob = archive.toBlob(); // or archive.toBytes()
 * const again = await PPO.load(blob);
 */
export class ModelArchive implements ModelFiles {
  readonly description = "a model archive";
  private readonly files = new Map<string, Uint8Array>();

  /** The archive in `bytes` (a tar, as {@link toBytes} writes or `tar -cf` of a model directory). */
  static async from(source: Blob | ArrayBuffer | Uint8Array): Promise<ModelArchive> {
    const bytes =
      source instanceof Uint8Array
        ? source
        : source instanceof ArrayBuffer
          ? new Uint8Array(source)
          : new Uint8Array(await source.arrayBuffer());
    const archive = new ModelArchive();
    for (const { name, data } of readTar(bytes)) archive.files.set(name, data);
    return archive;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    return this.files.get(name);
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    this.files.set(name, data.slice());
  }

  /** File names, sorted. */
  names(): string[] {
    return [...this.files.keys()].sort();
  }

  /** The files as one tar archive (names sorted, so the same model gives the same bytes). */
  toBytes(): Uint8Array {
    return writeTar(this.names().map((name) => ({ name, data: this.files.get(name) as Uint8Array })));
  }

  /** {@link toBytes} as a `Blob` of type `application/x-tar`, e.g. for a download link. */
  toBlob(): Blob {
    return new Blob([this.toBytes() as Uint8Array<ArrayBuffer>], { type: "application/x-tar" });
  }
}

/**
 * A directory on disk (Node only; created on the first write). Each file is written atomically (temp
 * file + rename), so an interrupted save never leaves a half-written file.
 */
export class DirectoryModelFiles implements ModelFiles {
  readonly description: string;

  constructor(readonly directory: string) {
    this.description = directory;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const { fs, path } = nodeFiles(`Reading a model from ${this.directory}`, BROWSER_MODEL_FILES);
    try {
      return new Uint8Array(await fs.readFile(path.join(this.directory, name)));
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async write(name: string, data: Uint8Array): Promise<void> {
    const { fs, path } = nodeFiles(`Saving a model to ${this.directory}`, BROWSER_MODEL_FILES);
    await fs.mkdir(this.directory, { recursive: true });
    await writeFileAtomic(path.join(this.directory, name), data);
  }
}

/** The {@link ModelFiles} behind a save target or load source (a path becomes a directory). */
export async function modelFiles(source: ModelSource): Promise<ModelFiles> {
  if (typeof source === "string") return new DirectoryModelFiles(source);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return ModelArchive.from(source);
  if (typeof Blob !== "undefined" && source instanceof Blob) return ModelArchive.from(source);
  if (
    typeof (source as ModelFiles).read === "function" &&
    typeof (source as ModelFiles).write === "function"
  ) {
    return source as ModelFiles;
  }
  throw new ProximalError(
    "INVALID_ARGUMENT",
    `Cannot save to or load from ${Object.prototype.toString.call(source)}. Pass a directory path (Node), a ModelArchive, an IndexedDBModelFiles, or archive bytes (Blob, File, ArrayBuffer, Uint8Array).`,
  );
}
