// The lock under which the connected account changes: a Connect to another account or a disconnect (the credentials
// switched or removed, HeldSignals.leaveAccount), a Connect to the same account or to one from none (connectAgain),
// and Stop waiting for an account (HeldSignals.dropAccount, refused for the connected one). The held replies' storage
// is read and written under it too (held-signals.ts): an answer of the tracker of the account before, come after a
// switch, is then never written for the next one (HeldSignals.stillFor), and a release reads the held replies and the
// credentials they go with in one step (HeldSignals.due). Anything that writes the credentials from a copy read
// earlier must take it as well, or it may write back an account the rep has left.
import { serialRunner } from "../serial";

/** Runs `task` once every task started under the lock before it has settled, and before any started after it. */
export const underAccountLock: <T>(task: () => Promise<T>) => Promise<T> = serialRunner();
