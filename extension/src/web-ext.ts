// The extension APIs with promises, as the browser itself provides them: Firefox's `browser`, Chrome's `chrome`
// (Manifest V3 returns promises from the calls this code makes: runtime.sendMessage, storage.local.get/set). The
// content script, which loads into every Gmail tab, so does without webextension-polyfill (6 KiB gzipped); the
// background keeps it for its listeners. Types are the polyfill's.
import type Browser from "webextension-polyfill";

const scope = globalThis as { browser?: typeof Browser; chrome?: typeof Browser };
export const browser = (scope.browser ?? scope.chrome) as typeof Browser;
