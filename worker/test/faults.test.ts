// FlakyD1 (faults.ts), the wrapper the tests count D1's calls and reads with: every way of running a statement is
// counted as D1 bills it, and answers as the real binding answers.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FlakyD1 } from "./faults";
import { createAccount, seedMessages } from "./helpers";

describe("FlakyD1", () => {
  it("counts what first() and raw() read, as all() reports it, and gives back what the real binding gives", async () => {
    const account = await createAccount();
    await seedMessages(account, 20);
    const sql = "SELECT id, subject FROM messages WHERE account_id = ? ORDER BY sent_at";
    const real = (accountId = account.accountId) => env.DB.prepare(sql).bind(accountId);
    const { meta } = await real().all();
    expect(meta.rows_read).toBeGreaterThanOrEqual(20);
    const counted = new FlakyD1(env.DB, () => false);
    const wrapped = (accountId = account.accountId) => counted.asD1().prepare(sql).bind(accountId);

    expect(await wrapped().first()).toEqual(await real().first());
    expect(await wrapped().first("subject")).toEqual(await real().first("subject"));
    expect(await wrapped().raw()).toEqual(await real().raw());
    expect(await wrapped().raw({ columnNames: true })).toEqual(await real().raw({ columnNames: true }));
    expect(await wrapped("no-such-account").first()).toBeNull();
    await expect(real().first("no_such_column")).rejects.toThrow("D1_COLUMN_NOTFOUND");
    await expect(wrapped().first("no_such_column")).rejects.toThrow("D1_COLUMN_NOTFOUND");

    const read = meta.rows_read;
    const readOfNone = (await real("no-such-account").all()).meta.rows_read;
    expect(counted.log.map((call) => call.rowsRead)).toEqual([[read], [read], [read], [read], [readOfNone], [read]]);
    expect({ calls: counted.calls, rowsRead: counted.rowsRead, rowsReturned: counted.rowsReturned }).toEqual({
      calls: 6,
      rowsRead: 5 * read + readOfNone,
      rowsReturned: 5 * 20,
    });
  });
});
