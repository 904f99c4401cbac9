// The dashboard's handlers over the real tracker client, the tracker's answers stood in for by a fetch.
import { expect, it, vi } from "vitest";

/** The origins the browser lets the extension reach (Chrome's site access, Firefox's add-on permissions). */
const granted = vi.hoisted(() => new Set<string>(["https://t.example/*"]));
vi.mock("../web-ext", () => ({
  browser: { permissions: { contains: async ({ origins }: { origins: string[] }) => origins.every((o) => granted.has(o)) } },
}));

import { trackerApi } from "./api";
import { refusedThenNotFound } from "./api.test-support";
import { ContactCheckCache } from "./contact-checks";
import type { Credentials } from "./credentials";
import { dashboardHandlers } from "./dashboard";
import { runHandler } from "./handler";

const fromDashboard = { id: "ext", url: "chrome-extension://ext/extension/src/dashboard/index.html" };

const CREDENTIALS: Credentials = {
  trackerUrl: "https://t.example",
  accountId: "abcdefghijklmnop",
  apiToken: "mt_token",
  signingKey: { accountId: "abcdefghijklmnop", keyId: 1, secret: "A".repeat(43) },
};

it("a CSV export is answered a part a message, each naming the next, so no answer holds a whole account", async () => {
  // The tracker's export in two parts (docs/protocol.md §14): the first with the header row and a Link to the next.
  const fetch = vi.fn(async (url: RequestInfo | URL) =>
    new URL(String(url)).searchParams.get("cursor") === "WyJuIl0"
      ? new Response("2,Second\r\n", { headers: { "Content-Type": "text/csv" } })
      : new Response("id,subject\r\n1,First\r\n", {
          headers: { "Content-Type": "text/csv", Link: '</api/export/messages.csv?cursor=WyJuIl0>; rel="next"' },
        }),
  );
  const handlers = dashboardHandlers({
    requireCredentials: async () => CREDENTIALS,
    tracker: (c) => trackerApi(c.trackerUrl, c.apiToken, fetch),
    checks: new ContactCheckCache(),
    forgetContact: async () => undefined,
  });
  const exportPart = (input: unknown) => runHandler("exportCsvPart", handlers.exportCsvPart, input, fromDashboard);
  expect(await exportPart({ name: "messages" })).toEqual({
    csv: "id,subject\r\n1,First\r\n",
    next: "WyJuIl0",
  });
  expect(fetch).toHaveBeenCalledTimes(1);
  expect(await exportPart({ name: "messages", cursor: "WyJuIl0" })).toEqual({
    csv: "2,Second\r\n",
    next: null,
  });
  // A cursor the tracker never gave is refused, not dropped: without it the export would start over, for ever.
  await expect(exportPart({ name: "messages", cursor: "not*a*cursor" })).rejects.toThrow(
    /exportCsvPart does not take this input \(cursor: /,
  );
  expect(fetch).toHaveBeenCalledTimes(2);
});

/** A delete refused by the browser while the tracker's site was withheld, made again once given back, answered 404. */
function deleteMadeAgain() {
  granted.clear();
  return refusedThenNotFound(() => granted.add("https://t.example/*"));
}

it("a contact's delete made again that the tracker answers 404 is done: the extension forgets the contact as well", async () => {
  const fetch = deleteMadeAgain();
  const forgotten: unknown[] = [];
  const handlers = dashboardHandlers({
    requireCredentials: async () => CREDENTIALS,
    tracker: (c) => trackerApi(c.trackerUrl, c.apiToken, fetch),
    checks: new ContactCheckCache(),
    forgetContact: async (contact) => void forgotten.push(contact),
  });
  const dana = { email: "dana@wingtip.example", name: "Dana" };
  expect(await runHandler("deleteContact", handlers.deleteContact, dana, fromDashboard)).toEqual({ ok: true });
  expect(fetch).toHaveBeenCalledTimes(2);
  expect(forgotten).toEqual([dana]);
});

it("a suppression's lifting made again that the tracker answers 404 is done: the compose windows' checks of it are asked again", async () => {
  const fetch = deleteMadeAgain();
  const checks = new ContactCheckCache();
  const check = (suppressed: boolean) => async (emails: string[]) =>
    emails.map((email) => ({ email, suppressed, bounceKind: suppressed ? ("hard" as const) : null, optedOut: false }));
  expect(await checks.get(["dana@wingtip.example"], check(true))).toMatchObject([{ suppressed: true }]);
  const handlers = dashboardHandlers({
    requireCredentials: async () => CREDENTIALS,
    tracker: (c) => trackerApi(c.trackerUrl, c.apiToken, fetch),
    checks,
    forgetContact: async () => undefined,
  });
  expect(await runHandler("liftSuppression", handlers.liftSuppression, { email: "dana@wingtip.example" }, fromDashboard)).toEqual({
    ok: true,
  });
  expect(fetch).toHaveBeenCalledTimes(2);
  expect(await checks.get(["dana@wingtip.example"], check(false))).toMatchObject([{ suppressed: false }]);
});
