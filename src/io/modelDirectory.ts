/**
 * A model directory as one archive and back (Node only), for moving models between the CLI and a
 * page: `packModelDirectory("runs/ppo/model")` gives the bytes a page loads with `PPO.load(bytes)`,
 * and `unpackModelArchive(blobBytes, dir)` writes a model saved in a page where the CLI reads it.
 */
import { ProximalError } from "../errors.js";
import { nodeFiles } from "../nodeBuiltin.js";
import { METADATA_FILE } from "./checkpoint.js";
import { DirectoryModelFiles, ModelArchive, modelFiles } from "./modelFiles.js";

const NODE_ONLY = "In a browser, save into a ModelArchive and call archive.toBlob() instead.";

/**
 * The files of the model directory `dir` (`model.json`, `model.safetensors`, `replay.safetensors`
 * when saved) as tar bytes, the same bytes `model.save(archive); archive.toBytes()` gives.
 * @throws ProximalError `MALFORMED_FILE` when `dir` holds no `model.json`.
 */
export async function packModelDirectory(dir: string): Promise<Uint8Array> {
  const { fs, path } = nodeFiles(`Packing ${dir}`, NODE_ONLY);
  const names = (await fs.readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
    .map((entry) => entry.name);
  if (!names.includes(METADATA_FILE)) {
    throw new ProximalError(
      "MALFORMED_FILE",
      `No saved model in ${dir}: expected ${METADATA_FILE} there. Point to a directory written by model.save() or a run's model/ folder.`,
    );
  }
  const archive = new ModelArchive();
  for (const name of names)
    await archive.write(name, new Uint8Array(await fs.readFile(path.join(dir, name))));
  return archive.toBytes();
}

/**
 * Write the files of a model archive (tar bytes, a `Blob` or a {@link ModelArchive}) into `dir`
 * (created if missing, each file written atomically), where `PPO.load(dir)` and the CLI read them.
 */
export async function unpackModelArchive(
  source: Blob | ArrayBuffer | Uint8Array | ModelArchive,
  dir: string,
): Promise<void> {
  const archive = source instanceof ModelArchive ? source : ((await modelFiles(source)) as ModelArchive);
  const target = new DirectoryModelFiles(dir);
  for (const name of archive.names()) await target.write(name, (await archive.read(name)) as Uint8Array);
}
