// The dashboard's handlers over the real tracker client, the tracker's answers stood in for by a fetch.
import { expect, it, vi } from "vitest";

vi.mock("../web-ext", () => ({ browser: { permissions: { contains: async () => true } } }));

import { trackerApi } from "./api";
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
