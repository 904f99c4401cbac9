// Gmail's own JavaScript world (content script with world: "MAIN", document_start): the things only possible
// here. Kept apart from the isolated content script; no extension APIs, no secrets.
// 1. pixel-guard.ts: the sender's own view never loads this tracker's pixels.
// 2. sync-xhr.ts: which thread and message a tracked send became, from Gmail's /sync traffic.
// 3. gmail-data.ts: the first thread list, which Gmail writes into the page as it loads.
// 4. account-address.ts: the signed-in account's address, from Gmail's own data.
import { installAccountAddress } from "./account-address";
import { markPageWorldStart } from "./events";
import { installGmailDataHook } from "./gmail-data";
import { installPixelGuard } from "./pixel-guard";
import { installSyncHook } from "./sync-xhr";

try {
  markPageWorldStart(document);
} catch {
  // never break Gmail
}
try {
  installPixelGuard(window);
} catch {
  // never break Gmail
}
try {
  installSyncHook(window);
} catch {
  // never break Gmail
}
try {
  installGmailDataHook(window);
} catch {
  // never break Gmail
}
try {
  installAccountAddress(window);
} catch {
  // never break Gmail
}
