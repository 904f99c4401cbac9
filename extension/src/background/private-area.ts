// The background's own key-value area, for what content scripts must never read: the API token and the signing keys
// (credential-store.ts). It is the IndexedDB of the extension's origin, not an extension storage area:
// - browser.storage.local, .sync and .managed are readable (and writable) by content scripts, and every change to
//   them reaches each content script's storage.onChanged; only storage.session is kept from them by default
//   (MDN StorageArea.setAccessLevel: "only supported for the storage.session StorageArea ... By default, all other
//   storage areas are exposed to all extension contexts, including content scripts"; Mozilla bug 1724754). But
//   storage.session is "stored in memory ... and not persisted to disk" (MDN storage.session): a browser restart
//   would lose the keys.
// - IndexedDB is the extension origin's own: "shared across the extension's origin including the extension service
//   worker [and] any extension pages ... In content scripts, calling web storage APIs accesses data from the host page
//   the content script is injected on and not the extension", "accessible in service workers", and "not cleared when
//   a user clears browsing data" (developer.chrome.com/docs/extensions/develop/concepts/storage-and-cookies). Firefox's
//   MV3 background is an event page (extensionworkshop.com Manifest V3 migration guide), a document of the extension's
//   origin with a page's web APIs (MDN Background scripts), IndexedDB among them. Whether Firefox's "clear cookies and
//   site data" spares moz-extension origins is not in Mozilla's docs (reported so for "clear offline data" since
//   Firefox 56: github.com/Cookie-AutoDelete/Cookie-AutoDelete/issues/171).
// The e2e tests (test/e2e/pages.ts) connect real Chromium and Firefox through it.
// Only the background opens it: the extension's pages ask the background (handlers.ts), as before.
import type { KeyValueArea } from "./outbox";

/** A key-value area whose `set` writes all its items or none, and which can forget a key. */
export interface PrivateArea extends KeyValueArea {
  remove(key: string): Promise<void>;
}

const DATABASE = "background-private";
const STORE = "items";

let opened: Promise<IDBDatabase> | undefined;

function database(): Promise<IDBDatabase> {
  opened ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => {
      const db = request.result;
      // A later version of this database opened elsewhere (an update of the extension) waits for no one.
      db.onversionchange = () => {
        db.close();
        opened = undefined;
      };
      resolve(db);
    };
    request.onerror = () => reject(request.error ?? new Error(`IndexedDB ${DATABASE} not opened`));
  }).catch((error: unknown) => {
    opened = undefined;
    throw error;
  });
  return opened;
}

/**
 * Runs `work` in one transaction, answering once it committed. Writes are "strict": committed means on disk
 * (Chrome and Firefox otherwise may answer before the flush), which the move out of storage.local relies on before it
 * removes the old copy (credential-store.ts).
 */
async function inTransaction<T>(
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => IDBRequest<T> | undefined,
): Promise<T | undefined> {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode, { durability: mode === "readwrite" ? "strict" : "default" });
    const request = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request?.result);
    transaction.onerror = () => reject(transaction.error ?? new Error(`IndexedDB ${DATABASE}: ${mode} failed`));
    transaction.onabort = () => reject(transaction.error ?? new Error(`IndexedDB ${DATABASE}: ${mode} aborted`));
  });
}

export const privateArea: PrivateArea = {
  async get(key) {
    const value = await inTransaction("readonly", (store) => store.get(key));
    return value === undefined ? {} : { [key]: value };
  },
  async set(items) {
    await inTransaction("readwrite", (store) => {
      for (const [key, value] of Object.entries(items)) store.put(value, key);
      return undefined;
    });
  },
  async remove(key) {
    await inTransaction("readwrite", (store) => store.delete(key));
  },
};
