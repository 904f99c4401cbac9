// The development-only way to give a local request `request.cf` properties (worker/src/dev-request-cf.ts): honoured
// only with DEV_REQUEST_CF set (as `npm start` sets it in .dev.vars) and on a loopback host, ignored otherwise.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signedClickUrl } from "../../shared/protocol";
import { DEV_REQUEST_CF_HEADER } from "../src/dev-request-cf";
import worker from "../src/index";
import { CHROME_UA, createAccount, sentMessage, type TestAccount, waitForEvents } from "./helpers";

const MICROSOFT = JSON.stringify({ asn: 8075, country: "NL", region: "North Holland" });

/** A click from Microsoft's network as the header describes it: a link checker (Safe Links) when honoured. */
async function clickThrough(account: TestAccount, origin: string, devRequestCf: string | undefined) {
  const message = await sentMessage(account, { links: [{ index: 0, url: "https://example.com/" }] });
  const url = (await signedClickUrl(origin, account.key, message.id, 0, "https://example.com/")).toString();
  const response = await worker.fetch(
    new Request(url, { redirect: "manual", headers: { "user-agent": CHROME_UA, [DEV_REQUEST_CF_HEADER]: MICROSOFT } }),
    { ...env, DEV_REQUEST_CF: devRequestCf },
    createExecutionContext(),
  );
  expect(response.status).toBe(302);
  const [event] = await waitForEvents(message.id, 1);
  return event;
}

describe("request.cf for local development", () => {
  it("applies the header's properties under wrangler dev when DEV_REQUEST_CF is set", async () => {
    const account = await createAccount();
    const event = await clickThrough(account, "http://127.0.0.1:8787", "1");
    expect(event).toMatchObject({ request_label: "scanner", country: "NL", region: "North Holland" });
  });

  it("ignores the header without DEV_REQUEST_CF, as on a deployed tracker, and on a host that is not loopback", async () => {
    const account = await createAccount();
    expect(await clickThrough(account, "http://127.0.0.1:8787", undefined)).toMatchObject({ request_label: "human", country: null });
    expect(await clickThrough(account, "https://t.example.test", "1")).toMatchObject({ request_label: "human", country: null });
  });
});
