import { describe, expect, it } from "vitest";
import { call, createAccount, openPixel, sentMessage, waitForEvents } from "./helpers";

describe("GET /o/<id>.gif", () => {
  it("records one open for a valid id", async () => {
    const account = await createAccount();
    const message = await sentMessage(account);
    const response = await openPixel(message.id);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/gif");
    const rows = await waitForEvents(message.id, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "open", label: "human" });
    expect(call).toBeDefined();
  });
});
