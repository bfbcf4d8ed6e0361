/**
 * A saved model kept in the browser's IndexedDB, so a page can save a trained model and find it again
 * after a reload. Browser only (and any runtime with a global `indexedDB`).
 */
import { ProximalError } from "../errors.js";
import type { ModelFiles } from "./modelFiles.js";

/** The object store every model's files go in; keys are `"<model name>/<file name>"`. */
const STORE = "files";

/**
 * The files of the model called `name` in the IndexedDB database `database`.
 *
 * @example
 * await model.save(new IndexedDBModelFiles("cartpole"));
 * const again = await PPO.load(new IndexedDBModelFiles("cartpole"));
 */
export class IndexedDBModelFiles implements ModelFiles {
  readonly description: string;

  /**
   * @param name - The model's name; saving again under the same name replaces its files.
   * @param database - The IndexedDB database. @defaultValue "proximal-models"
   */
  constructor(
    readonly name: string,
    readonly database = "proximal-models",
  ) {
    this.description = `IndexedDB model "${name}" (database "${database}")`;
  }

  async read(file: string): Promise<Uint8Array | undefined> {
    const db = await this.open();
    try {
      const value = await request(
        db.transaction(STORE, "readonly").objectStore(STORE).get(`${this.name}/${file}`),
      );
      return value === undefined ? undefined : new Uint8Array(value as ArrayBuffer);
    } finally {
      db.close();
    }
  }

  async write(file: string, data: Uint8Array): Promise<void> {
    const db = await this.open();
    try {
      const transaction = db.transaction(STORE, "readwrite");
      transaction.objectStore(STORE).put(data.slice().buffer, `${this.name}/${file}`);
      await new Promise<void>((resolve, reject) => {
        transaction.oncomplete = () => resolve();
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  private async open(): Promise<IDBDatabase> {
    const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    if (factory === undefined) {
      throw new ProximalError(
        "UNSUPPORTED_RUNTIME",
        `${this.description}: this runtime has no IndexedDB. In Node, save to a directory path or a ModelArchive instead.`,
      );
    }
    const opening = factory.open(this.database, 1);
    opening.onupgradeneeded = () => {
      if (!opening.result.objectStoreNames.contains(STORE)) opening.result.createObjectStore(STORE);
    };
    return request(opening);
  }
}

/** An IndexedDB request as a promise. */
function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
