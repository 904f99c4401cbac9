// The extension's tracker client (extension/src/background/api.ts, Hono's hc typed from AppType) against the real
// worker: every call the background makes, with the worker's own answers.
import { describe, expect, it } from "vitest";
import { TrackerError } from "../../extension/src/background/api";
import { createAccount, sentMessage, trackerClient } from "./helpers";

describe("typed client", () => {
  it("calls the API with types taken from the server's routes", async () => {
    const account = await createAccount();
    const message = await sentMessage(account, { threadId: "t-typed", campaign: "Typed" });
    const tracker = account.tracker;
    const body = await tracker.status(["t-typed"]);
    expect(body.messages.map((m) => m.id)).toEqual([message.id]);
    const detail = await tracker.detail(message.id);
    expect(detail.id).toBe(message.id);
    expect((await tracker.account()).accountId).toBe(account.accountId);
    // The dashboard's and the signals' routes are in AppType too.
    const list = await tracker.messages({ state: "delivered", limit: 10 });
    expect(list.messages.map((m) => m.id)).toEqual([message.id]);
    const signals = await tracker.signals({
      signals: [
        { kind: "reply", threadId: "t-typed", gmailMessageId: "msg-f:typed", at: new Date().toISOString(), from: "x@acme.example" },
      ],
    });
    expect(signals.results.map((r) => r.outcome)).toEqual(["recorded"]);
    const checked = await tracker.checkContacts(["x@acme.example"]);
    expect(checked.contacts.map((c) => c.email)).toEqual(["x@acme.example"]);
    expect((await tracker.campaigns()).campaigns.map((c) => c.name)).toEqual(["Typed"]);
    expect((await tracker.campaign("Typed")).name).toBe("Typed");
    expect((await tracker.contacts({ sort: "lastActivity" })).contacts.map((c) => c.email)).toContain("buyer@acme.example");
    expect((await tracker.contact("buyer@acme.example")).contact.email).toBe("buyer@acme.example");
    expect(await tracker.senderViews({ threadIds: ["t-typed"] })).toEqual({ recorded: 1 });
    expect((await tracker.events("0")).events).toEqual([]);
    expect((await tracker.exportCsvPart("messages")).text).toContain(message.id);
    // Registered without a legacy thread id: moved to the conversation Gmail shows it in, once.
    expect(await tracker.moveToThread(message.id, "18f7000000000abc")).toMatchObject({
      threadId: "18f7000000000abc",
      syncThreadId: "t-typed",
    });
    await expect(tracker.moveToThread(message.id, "18f7000000000abd")).rejects.toMatchObject({ status: 409 });
    await tracker.stop(message.id);
    expect((await tracker.detail(message.id)).state).toBe("stopped");
    await tracker.remove(message.id);
    await expect(tracker.detail(message.id)).rejects.toMatchObject({ status: 404 });
    const other = await sentMessage(account, { recipients: [{ email: "other@acme.example" }] });
    await tracker.deleteContact("other@acme.example");
    await expect(tracker.detail(other.id)).rejects.toMatchObject({ status: 404 });
  });

  it("turns the tracker's refusals into TrackerErrors in its own words", async () => {
    const account = await createAccount();
    const missing = await account.tracker.liftSuppression("nobody@acme.example").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(TrackerError);
    expect(missing).toMatchObject({ status: 404, retryable: false });
    const refused = await trackerClient("not-a-token")
      .account()
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 401, retryable: true });
    expect((refused as Error).message).toMatch(/^the tracker answered 401: /);
  });
});
