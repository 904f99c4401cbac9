// The lock under which the connected account changes: a Connect and a disconnect (HeldSignals.changeAccount, which
// clears what the account left could use), and Stop waiting for an account (HeldSignals.dropAccount, refused for the
// connected one). The held replies' storage is read and written
// under it too (held-signals.ts): an answer of the tracker of the account before, come after a switch, is then never
// written for the next one (HeldSignals.stillFor), and a release reads the held replies and the credentials they go
// with in one step (HeldSignals.due). A change to the connected account's credentials (a rotated key, a replaced
// token) need not take it: updateCredentials (credential-store.ts) reads them again in its write and refuses another
// account's. That write lock is taken inside this one (changeAccount), never this one inside it: nothing run
// under the write lock takes a lock.
import { serialRunner } from "../serial";

/** Runs `task` once every task started under the lock before it has settled, and before any started after it. */
export const underAccountLock: <T>(task: () => Promise<T>) => Promise<T> = serialRunner();
