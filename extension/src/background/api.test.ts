// The one place requests to the tracker are built: JSON calls and the CSV export share the token and the errors.
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, TrackerError } from "./api";

afterEach(() => vi.unstubAllGlobals());

describe("CSV export", () => {
  it("sends the token, asks for CSV and answers the text as it is", async () => {
    const fetch = vi.fn(async (_url: string, _init: RequestInit) => new Response("id,subject\r\n1,Hi\r\n", { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    expect(await api.exportCsv("https://t.example", "token", "messages")).toBe("id,subject\r\n1,Hi\r\n");
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe("https://t.example/api/export/messages.csv");
    expect(init?.headers).toMatchObject({ Authorization: "Bearer token", Accept: "text/csv" });
  });

  it("a refused export is a TrackerError in the tracker's words", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ error: "unauthorized" }), { status: 401 }));
    const error = await api.exportCsv("https://t.example", "bad", "events").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrackerError);
    expect(error).toMatchObject({ status: 401, message: "the tracker answered 401: unauthorized" });
  });
});
