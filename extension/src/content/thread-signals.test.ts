// @vitest-environment happy-dom
// Reply and bounce detection on Gmail test pages. The pages are SIMULATED (built from the attributes
// docs/gmail.md and the classic thread-list capture name), not captures of Gmail; the
// notices' texts are Gmail's real wording.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stableMessageId } from "../../../shared/gmail-message-id";
import { MINUTE } from "../../../test/durations";
import { bounceOfNotice } from "../background/signals";
import { installAccountAddress } from "../page-world/account-address";
import { ACCOUNT_ATTRIBUTE } from "../page-world/events";
import { fromObjectForm, gmailListAnswer } from "../page-world/sync-answer.test-support";
import { parseEmbeddedThreadList, parseGmailJson, parseThreadList } from "../page-world/sync-parser";
import { messageGmailIds } from "./gmail-selectors";
import {
  gmailDate,
  messageTrackingId,
  ownAddresses,
  readConversation,
  readListedThreads,
  readThreadRows,
  type Signal,
} from "./thread-signals";

/**
 * Noon on this machine's clock, like every time below: Gmail writes its titles ("10:15 AM") in the computer's own
 * zone, and a NOW of noon UTC falls before those in zones west of UTC−2.
 */
const NOW = new Date(2026, 10, 22, 12, 0, 0);
/**
 * A Gmail server id of a message received at `at`, in hex: Gmail's legacy ids are the time of receipt in
 * milliseconds shifted left by 20 bits, and some other bits (shared/gmail-message-id.ts messageReceivedAt).
 */
const idAt = (at: Date, low: number) => ((BigInt(at.getTime()) << 20n) | BigInt(low)).toString(16);
/** What the rows and messages below show as "9:00 AM" and "10:15 AM": received a few seconds into their minute. */
const AT_9 = new Date(2026, 10, 22, 9, 0, 12, 345);
const AT_10_15 = new Date(2026, 10, 22, 10, 15, 7, 89);
const OWN = new Set(["me@example.com"]);

/** A signal as the tracker gets it: a notice's text classified by the background (background/signals.ts). */
function asReported(signal: Signal | undefined) {
  return signal?.kind === "bounce" ? bounceOfNotice(signal, [...OWN]) : signal;
}

const HARD_NOTICE = `Address not found
Your message wasn't delivered to carol@nowhere.example because the address couldn't be found, or is unable to receive mail.
The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.`;
const SOFT_NOTICE = `Message not delivered
Your message couldn't be delivered to carol@nowhere.example because the recipient's mailbox is full.
552-5.2.2 The email account that you tried to reach is over quota.`;

function message(options: { id: string; legacy?: string; email: string; name: string; date?: string; body: string }): string {
  return `<div class="adn ads" data-message-id="#${options.id}"${options.legacy ? ` data-legacy-message-id="${options.legacy}"` : ""}>
    <div class="gs"><div class="gE iv gt"><table><tr><td class="gF gK"><h3 class="iw"><span class="qu"><span email="${options.email}" name="${options.name}" class="gD">${options.name}</span></span></h3></td>
    <td class="gH"><span class="g3" title="${options.date ?? "Sat, Nov 22, 2026, 10:15 AM"}" alt="${options.date ?? ""}">10:15 AM</span></td></tr></table></div>
    <div class="ii gt"><div class="a3s aiL">${options.body}</div></div></div></div>`;
}

function conversation(...messages: string[]): void {
  document.title = "Pricing for Q3 - me@example.com - Gmail";
  document.body.innerHTML = `<div role="main"><h2 class="hP" data-thread-perm-id="thread-f:1799000000000000001" data-legacy-thread-id="18f7a1b2c3d4e5f6">Pricing for Q3</h2>${messages.join("")}</div>`;
}

const MINE = message({
  id: "msg-f:1799000000000000001",
  legacy: "18f7a1b2c3d4e5f6",
  email: "me@example.com",
  name: "Me",
  body: '<div>Hi Carol</div><img data-mt-pixel-id="x">',
});

describe("an opened conversation", () => {
  it("a message from the recipient after the sender's is a reply, keyed by its own message id", () => {
    const replyId = idAt(AT_10_15, 0x777);
    conversation(
      MINE,
      message({ id: `msg-f:${BigInt(`0x${replyId}`)}`, email: "carol@prospect.example", name: "Carol", body: "Sounds good!" }),
    );
    const found = readConversation(document, ownAddresses(document), NOW);
    expect(found).toEqual({
      threadId: "18f7a1b2c3d4e5f6",
      signals: [
        {
          kind: "reply",
          threadId: "18f7a1b2c3d4e5f6",
          gmailMessageId: replyId,
          at: AT_10_15.toISOString(),
          from: "carol@prospect.example",
        },
      ],
    });
  });

  /** A delivery-failure notice from Gmail's Mail Delivery Subsystem, as the conversation shows it. */
  const notice = (body: string) =>
    message({ id: "n1", legacy: "18f7a1b2c3d4e600", email: "mailer-daemon@googlemail.com", name: "Mail Delivery Subsystem", body });

  it("a Mail Delivery Subsystem notice is a hard bounce naming the failed address; the sender's later message is not a reply", () => {
    conversation(
      MINE,
      notice(HARD_NOTICE),
      message({ id: "m2", legacy: "18f7a1b2c3d4e601", email: "me@example.com", name: "Me", body: "Resending" }),
    );
    const found = readConversation(document, OWN, NOW);
    expect(found?.signals).toHaveLength(1);
    // The notice's text, whitespace folded, for the background to classify.
    expect(found?.signals[0]).toMatchObject({ kind: "bounce", gmailMessageId: "18f7a1b2c3d4e600" });
    expect(found?.signals[0]?.kind === "bounce" && found.signals[0].notice.startsWith("Address not found Your message")).toBe(true);
    const reported = asReported(found?.signals[0]);
    expect(reported).toMatchObject({
      kind: "bounce",
      gmailMessageId: "18f7a1b2c3d4e600",
      bounce: { kind: "hard", recipients: ["carol@nowhere.example"] },
    });
    expect(reported?.kind === "bounce" && reported.bounce.reason?.startsWith("Address not found Your message")).toBe(true);
  });

  it("a mailbox-full notice is a soft bounce", () => {
    conversation(MINE, notice(SOFT_NOTICE));
    expect(asReported(readConversation(document, OWN, NOW)?.signals[0])).toMatchObject({ kind: "bounce", bounce: { kind: "soft" } });
  });

  it("a notice's wording under a daemon's display name, from an ordinary person's address, is a reply", () => {
    const body = "550 5.1.1 address not found: ceo@bigcustomer.example, cfo@bigcustomer.example";
    conversation(MINE, message({ id: "n2", legacy: "18f7a1b2c3d4e602", email: "x@evil.example", name: "Mail Delivery Subsystem", body }));
    expect(readConversation(document, OWN, NOW)?.signals).toEqual([expect.objectContaining({ kind: "reply", from: "x@evil.example" })]);
  });

  it("in a thread someone else started, their first message is not a reply to the sender's tracked answer", () => {
    conversation(
      message({ id: "a", legacy: "18f7a1b2c3d4e500", email: "carol@prospect.example", name: "Carol", body: "Question?" }),
      MINE,
      message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Thanks" }),
    );
    expect(readConversation(document, OWN, NOW)?.signals.map((s) => s.gmailMessageId)).toEqual(["18f7a1b2c3d4e700"]);
  });

  /** A message as Gmail shows one already read: collapsed, its header alone, with no message id (gmail-selectors.ts). */
  const collapsed = (email: string, name: string) =>
    `<div class="kv" role="listitem"><div class="adf ads"><table><tr><td class="gF gK"><span email="${email}" name="${name}" class="gD">${name}</span></td>
    <td class="gH"><span class="g3" title="Sat, Nov 22, 2026, 9:00 AM" alt="">9:00 AM</span></td></tr></table><div class="iA g6">Hi Carol, our prices</div></div></div>`;

  it("the sender's email collapsed, as Gmail shows what was read, still places the reply after it", () => {
    conversation(
      collapsed("me@example.com", "Me"),
      message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Sounds good" }),
    );
    expect(readConversation(document, OWN, NOW)?.signals.map((s) => [s.kind, s.gmailMessageId])).toEqual([["reply", "18f7a1b2c3d4e700"]]);
    // Found by its role too, where Gmail renamed the class.
    document.querySelector(".kv")?.classList.replace("kv", "kv-1a2b");
    expect(readConversation(document, OWN, NOW)?.signals.map((s) => s.kind)).toEqual(["reply"]);
  });

  it("a collapsed message of class `ky` (InboxSDK reads kv and ky as collapsed) places the reply after it", () => {
    conversation(
      collapsed("me@example.com", "Me").replace('class="kv" role="listitem"', 'class="ky"'),
      message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Sounds good" }),
    );
    expect(readConversation(document, OWN, NOW)?.signals.map((s) => s.kind)).toEqual(["reply"]);
  });

  it("an earlier conversation Gmail keeps hidden in the page is not the one read", () => {
    conversation(MINE, message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Yes" }));
    // Gmail hides a view it leaves (style.display) and marks only the shown one role=main (gmail-selectors.ts shownView).
    document.body.insertAdjacentHTML(
      "afterbegin",
      `<div class="nH" style="display: none"><h2 class="hP" data-legacy-thread-id="18f7a1b2c3d40000">Older</h2>${message({
        id: "c",
        legacy: "18f7a1b2c3d40001",
        email: "dave@prospect.example",
        name: "Dave",
        body: "Old news",
      })}</div>`,
    );
    const read = readConversation(document, OWN, NOW);
    expect(read?.threadId).toBe("18f7a1b2c3d4e5f6");
    expect(read?.signals.map((s) => s.gmailMessageId)).toEqual(["18f7a1b2c3d4e700"]);
  });

  it("a list item outside the conversation's view (a chat panel naming the rep) places nothing after it", () => {
    conversation(message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Question?" }));
    document.body.insertAdjacentHTML("afterbegin", `<div role="listitem"><span email="me@example.com" class="gD">Me</span></div>`);
    expect(readConversation(document, OWN, NOW)?.signals).toEqual([]);
  });

  it("a collapsed message is never a reply itself, and someone else's collapsed first message places nothing after it", () => {
    conversation(
      collapsed("carol@prospect.example", "Carol"),
      message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "dave@prospect.example", name: "Dave", body: "Adding Dave" }),
    );
    expect(readConversation(document, OWN, NOW)?.signals).toEqual([]);
  });

  it("a conversation whose subject holds a prospect's address: its title's last address is the sender's, and the prospect's reply counts", () => {
    conversation(MINE, message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Hi" }));
    document.title = "Call - carol@prospect.example - notes - me@example.com - Gmail";
    const own = ownAddresses(document);
    expect(own.has("carol@prospect.example")).toBe(false);
    expect(own.has("me@example.com")).toBe(true);
    expect(readConversation(document, own, NOW)?.signals.map((s) => s.kind)).toEqual(["reply"]);
  });

  it("without any own address in the page, the senders of messages carrying our pixel are the sender", () => {
    conversation(MINE, message({ id: "b", legacy: "18f7a1b2c3d4e700", email: "carol@prospect.example", name: "Carol", body: "Hi" }));
    document.title = "Gmail";
    expect(ownAddresses(document).size).toBe(0);
    expect(readConversation(document, new Set(), NOW)?.signals.map((s) => s.kind)).toEqual(["reply"]);
  });

  it("a recipient's reply quoting the rep's email, pixel included, is a reply however its mail program quoted it", () => {
    // As Gmail shows them: the email's own class names prefixed (m_…, Stack Overflow 41286297; the ids' prefix is
    // assumed, see QUOTE_HEADERS), the quoted pixel neutralised like any.
    const quotes = {
      gmail: `<div class="m_-42gmail_quote"><div class="m_-42gmail_attr">On Sat, Me wrote:</div><blockquote class="m_-42gmail_quote"><div>Hi Carol</div><img data-mt-pixel-id="x"></blockquote></div>`,
      outlook: `<div id="m_-42appendonsend"></div><hr><div id="m_-42divRplyFwdMsg"><b>From:</b> Me &lt;me@example.com&gt;</div><div>Hi Carol</div><img data-mt-pixel-id="x">`,
      apple: `<div>On Nov 22, Me wrote:</div><blockquote type="cite"><div>Hi Carol</div><img data-mt-pixel-id="x"></blockquote>`,
      thunderbird: `<div class="m_-42moz-cite-prefix">On 22/11/2026, Me wrote:</div><div><div>Hi Carol</div><img data-mt-pixel-id="x"></div>`,
      // Outlook for Windows marks its header by a style alone (talon html_quotations.py cut_microsoft_quote): 2013 on,
      // and 2010's header wrapped as the first child of a div, the quoted email after the wrapper.
      outlookWindows: `<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in"><p><b>From:</b> Me</p></div><p>Hi Carol</p><p><img data-mt-pixel-id="x"></p>`,
      outlook2010: `<div><div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p><b>From:</b> Me</p></div></div><p>Hi Carol</p><img data-mt-pixel-id="x">`,
      outlookMac: `<div id="m_-42OLK_SRC_BODY_SECTION"><div><b>From:</b> Me</div><div>Hi Carol</div><img data-mt-pixel-id="x"></div>`,
    };
    for (const [program, quote] of Object.entries(quotes)) {
      const reply = message({
        id: "b",
        legacy: "18f7a1b2c3d4e700",
        email: "carol@prospect.example",
        name: "Carol",
        body: `<div>Sounds good</div>${quote}`,
      });
      conversation(MINE, reply);
      const [, replyElement] = document.querySelectorAll("div.adn");
      expect([program, messageTrackingId(replyElement as Element)]).toEqual([program, null]);
      expect([program, readConversation(document, OWN, NOW)?.signals.map((s) => s.kind)]).toEqual([program, ["reply"]]);
      // Nor is Carol taken for the sender when the page names no address of the account's.
      document.title = "Gmail";
      expect([program, readConversation(document, new Set(), NOW)?.signals.map((s) => s.kind)]).toEqual([program, ["reply"]]);
    }
    // The rep's own pixel before a quote of their earlier email is still theirs.
    conversation(
      message({ id: "c", email: "me@example.com", name: "Me", body: `<div>Bump</div><img data-mt-pixel-id="y">${quotes.outlook}` }),
    );
    expect(messageTrackingId(document.querySelector("div.adn") as Element)).toBe("y");
    // Nor after an Outlook header inside the email the rep forwards or answers: the rep's pixel comes last, after
    // the quote, outside the part the header starts.
    conversation(
      message({
        id: "d",
        email: "me@example.com",
        name: "Me",
        body: `<div>FYI</div><div class="gmail_quote"><div><div id="divRplyFwdMsg"><b>From:</b> Carol</div><div>Earlier</div></div></div><img data-mt-pixel-id="z">`,
      }),
    );
    expect(messageTrackingId(document.querySelector("div.adn") as Element)).toBe("z");
  });

  it("re-rendering the same conversation gives the same keys (the content script and the tracker dedupe on them)", () => {
    const reply = message({ id: "msg-f:1799000000000000777", email: "carol@prospect.example", name: "Carol", body: "Yes" });
    conversation(MINE, reply);
    const first = readConversation(document, OWN, NOW)?.signals.map((s) => s.gmailMessageId);
    // Gmail syncs the message and adds its legacy id: the key must not change.
    conversation(
      MINE,
      reply.replace(
        'data-message-id="#msg-f:1799000000000000777"',
        `$& data-legacy-message-id="${BigInt("1799000000000000777").toString(16)}"`,
      ),
    );
    expect(readConversation(document, OWN, NOW)?.signals.map((s) => s.gmailMessageId)).toEqual(first);
  });
});

function row(options: {
  thread: string;
  last: string;
  participants: [string, string][];
  count?: number;
  snippet?: string;
  /** The localised prefix of a Sent row's recipients ("To: ", "An: "). */
  toPrefix?: string;
  /** Only `data-thread-id` on the subject span (2025-11 live dump), no legacy id. */
  decimalOnly?: boolean;
  /**
   * The shape of a real row of 2019-12-26 (gmail-selectors.ts rowParticipants): each participant in `span.bA4`, the
   * count bare ("5"), `data-legacy-last-non-draft-message-id` beside `data-legacy-last-message-id`.
   */
  captured?: boolean;
  /** A draft saved in the thread: its id is the row's `data-legacy-last-message-id`, `last` the non-draft one. */
  draft?: string;
}): string {
  const spans = options.participants
    .map(([email, name]) => {
      const span = `<span class="zF" email="${email}" name="${name}">${name}</span>`;
      return options.captured ? `<span class="bA4">${span}</span>` : span;
    })
    .join(", ");
  const count = options.count ? ` <span class="bx0">${options.captured ? options.count : `(${options.count})`}</span>` : "";
  const lastIds = options.captured
    ? `data-legacy-last-message-id="${options.draft ?? options.last}" data-legacy-last-non-draft-message-id="${options.last}"`
    : `data-legacy-last-message-id="${options.last}"`;
  return `<tr class="zA zE" role="row"><td class="yX xY"><div class="yW">${options.toPrefix ?? ""}${spans}${count}</div></td>
    <td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:${BigInt(`0x${options.thread}`)}"${options.decimalOnly ? "" : ` data-legacy-thread-id="${options.thread}"`} ${lastIds}>Subject</span></span></div>
    <span class="y2"> - ${options.snippet ?? ""}</span></div></div></td>
    <td class="xW xY"><span title="Sat, Nov 22, 2026, 9:00 AM">9:00 AM</span></td></tr>`;
}

describe("the thread list", () => {
  it("a row whose latest message is someone else's is a reply or a bounce; the sender's own rows and single messages are not", () => {
    document.title = "Sent Mail - me@example.com - Gmail";
    document.body.innerHTML = `<table><tbody>
      ${row({
        thread: "18f7000000000001",
        last: idAt(AT_9, 0x101),
        participants: [
          ["me@example.com", "me"],
          ["carol@prospect.example", "Carol"],
        ],
        count: 2,
      })}
      ${row({
        thread: "18f7000000000002",
        last: "18f7000000000102",
        participants: [
          ["me@example.com", "me"],
          ["mailer-daemon@googlemail.com", "Mail Delivery Subsystem"],
        ],
        count: 2,
        snippet: HARD_NOTICE.replaceAll("\n", " "),
      })}
      ${row({ thread: "18f7000000000003", last: "18f7000000000103", participants: [["dave@prospect.example", "Dave"]], toPrefix: "To: " })}
      ${row({
        thread: "18f7000000000004",
        last: "18f7000000000104",
        participants: [
          ["carol@prospect.example", "Carol"],
          ["me@example.com", "me"],
        ],
        count: 3,
      })}
      ${row({ thread: "18f7000000000005", last: "18f7000000000105", participants: [["erin@prospect.example", "Erin"]] })}
    </tbody></table>`;
    const own = ownAddresses(document);
    expect(own).toEqual(new Set(["me@example.com"]));
    const found = readThreadRows(document, own, NOW);
    expect(found.map((t) => [t.threadId, t.signals[0]?.kind, t.signals[0]?.gmailMessageId])).toEqual([
      ["18f7000000000001", "reply", idAt(AT_9, 0x101)],
      ["18f7000000000002", "bounce", "18f7000000000102"],
    ]);
    expect(asReported(found[1]?.signals[0])).toMatchObject({ bounce: { kind: "hard", recipients: ["carol@nowhere.example"] } });
    expect(found[0]?.signals[0]?.at).toBe(AT_9.toISOString());
  });
});

describe("the thread list in the shape of a real row (2019-12-26: span.bA4 wrappers, a bare count)", () => {
  const read = (...rows: string[]) => {
    document.title = "Sent Mail - me@example.com - Gmail";
    document.body.innerHTML = `<table><tbody>${rows.join("")}</tbody></table>`;
    return readThreadRows(document, ownAddresses(document), NOW).map((t) => {
      const signal = t.signals[0] as { kind: string; gmailMessageId: string; from?: string };
      return [t.threadId, signal.kind, signal.gmailMessageId, signal.from];
    });
  };

  it("a Sent row to two recipients is no reply from the last of them (its last message is the sender's own)", () => {
    const participants: [string, string][] = [
      ["carol@prospect.example", "Carol"],
      ["dave@prospect.example", "Dave"],
    ];
    expect(read(row({ thread: "18f7000000000011", last: "18f7000000000111", participants, toPrefix: "To: ", captured: true }))).toEqual([]);
    expect(read(row({ thread: "18f7000000000011", last: "18f7000000000111", participants, toPrefix: "An: ", captured: true }))).toEqual([]);
  });

  it("a row with one sender and a bare count of 5 is a reply from that sender", () => {
    const participants: [string, string][] = [["erin@prospect.example", "Erin"]];
    expect(read(row({ thread: "18f7000000000012", last: "18f7000000000112", participants, count: 5, captured: true }))).toEqual([
      ["18f7000000000012", "reply", "18f7000000000112", "erin@prospect.example"],
    ]);
  });

  it("a reply in a thread holding the sender's unsent draft is keyed by the reply's id, not the draft's", () => {
    const participants: [string, string][] = [
      ["me@example.com", "me"],
      ["frank@prospect.example", "Frank"],
    ];
    const draft = { draft: "18f70000000001ff", count: 3, captured: true };
    expect(read(row({ thread: "18f7000000000013", last: "18f7000000000113", participants, ...draft }))).toEqual([
      ["18f7000000000013", "reply", "18f7000000000113", "frank@prospect.example"],
    ]);
  });
});

describe("the thread list with the reading pane on the right (vertical split)", () => {
  // One thread in two rows, as InboxSDK's thread-row-parser.ts reads them (a8a6fe2, 2026-07-23; no public capture):
  // the main row `tr.zA.apv` holds the people (`td.apy > div.yW`) and the date (`td.apt > div.apm > span[title]`), the
  // next row the subject with its ids (`td div.xS div.xT div.y6 > span`), and a third `tr.apw` may follow.
  const split = (people: string, snippet: string) => `
    <tr class="zA apv" role="row" id=":3a"><td class="apy"><div class="yW">${people}</div></td>
      <td class="apt"><div class="apm"><span title="Sat, Nov 22, 2026, 9:00 AM">9:00 AM</span></div></td></tr>
    <tr role="row"><td><div class="xS"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#thread-f:1799000000000000033"
      data-legacy-thread-id="18f7000000000033" data-legacy-last-message-id="${idAt(AT_9, 0x133)}">Pricing</span></span><span class="y2"> - ${snippet}</span></div></div></div></td></tr>
    <tr class="apw"><td></td></tr>`;

  it("reads a reply and a bounce across the thread's rows: people and date from the first, ids and snippet from the next", () => {
    document.title = "Inbox - me@example.com - Gmail";
    const person = (email: string, name: string) =>
      `<span class="bA4"><span class="yP" email="${email}" name="${name}">${name}</span></span>`;
    document.body.innerHTML = `<table><tbody>${split(`${person("me@example.com", "me")}, ${person("gina@prospect.example", "Gina")} <span class="bx0">2</span>`, "Sounds good")}</tbody></table>`;
    const [reply] = readThreadRows(document, ownAddresses(document), NOW);
    expect(reply?.signals[0]).toMatchObject({ kind: "reply", threadId: "18f7000000000033", gmailMessageId: idAt(AT_9, 0x133) });
    expect(reply?.signals[0]?.at).toBe(AT_9.toISOString());
    document.body.innerHTML = `<table><tbody>${split(
      `${person("me@example.com", "me")}, ${person("mailer-daemon@googlemail.com", "Mail Delivery Subsystem")} <span class="bx0">2</span>`,
      HARD_NOTICE.replaceAll("\n", " "),
    )}</tbody></table>`;
    const [bounce] = readThreadRows(document, ownAddresses(document), NOW);
    expect(asReported(bounce?.signals[0])).toMatchObject({
      kind: "bounce",
      bounce: { kind: "hard", recipients: ["carol@nowhere.example"] },
    });
  });
});

describe("the thread list in another UI language", () => {
  it('a German Sent row to two recipients ("An: Carol, Dave") is no reply; a reply on a data-thread-id-only row is found', () => {
    document.title = "Gesendet - me@example.com - Gmail";
    document.body.innerHTML = `<table><tbody>
      ${row({
        thread: "18f7000000000006",
        last: "18f7000000000106",
        participants: [
          ["carol@prospect.example", "Carol"],
          ["dave@prospect.example", "Dave"],
        ],
        toPrefix: "An: ",
      })}
      ${row({
        thread: "18f7000000000007",
        last: "18f7000000000107",
        participants: [
          ["me@example.com", "ich"],
          ["erin@prospect.example", "Erin"],
        ],
        count: 2,
        decimalOnly: true,
      })}
    </tbody></table>`;
    const found = readThreadRows(document, ownAddresses(document), NOW);
    expect(found.map((t) => [t.threadId, t.signals[0]?.kind, t.signals[0]?.gmailMessageId])).toEqual([
      ["18f7000000000007", "reply", "18f7000000000107"],
    ]);
  });
});

describe("a message just sent, shown with its draft's legacy id (InboxSDK #515, a Gmail bug)", () => {
  // The rep sent a follow-up from this tab, untracked and from a send-as alias the page does not name (so neither a
  // pixel nor an address makes it theirs). Gmail shows it at once with its sync id, the draft's `msg-a:r…`, and may put
  // the DRAFT's legacy id in `data-legacy-message-id` (InboxSDK pull request 586, 2019-01-25): an id dated when the
  // draft was first saved, which Gmail replaces by the message's own once it has synced.
  const DRAFT_SYNC_ID = "msg-a:r8190137112111191537";
  const DRAFT_LEGACY_ID = idAt(AT_9, 0x5d);
  const carol = message({ id: "b", legacy: idAt(AT_10_15, 0xc), email: "carol@prospect.example", name: "Carol", body: "Which plan?" });
  const justSent = message({
    id: DRAFT_SYNC_ID,
    legacy: DRAFT_LEGACY_ID,
    email: "sales@example.com",
    name: "Sales",
    body: "The yearly one.",
  });

  it("is not keyed by that legacy id when its sync id is the draft of a compose this tab sent", () => {
    conversation(MINE, carol, justSent);
    const sent = document.querySelectorAll("div.adn")[2] as Element;
    expect(messageGmailIds(sent, new Set([DRAFT_SYNC_ID]))).toEqual([`#${DRAFT_SYNC_ID}`]);
    // Carol's reply alone: the rep's message has no stable id yet, and is reported under none.
    expect(readConversation(document, OWN, NOW, new Set([DRAFT_SYNC_ID]))?.signals.map((s) => s.gmailMessageId)).toEqual([
      idAt(AT_10_15, 0xc),
    ]);
    // Not sent from this tab: Gmail's legacy id is taken, as always.
    expect(messageGmailIds(sent, new Set(["msg-a:r1"]))).toEqual([DRAFT_LEGACY_ID, `#${DRAFT_SYNC_ID}`]);
  });
});

describe("the account's address from Gmail's own data (GLOBALS[10], read by the page-world script)", () => {
  /**
   * A German Inbox whose title names no account and that shows no account switcher (a title the "Hide Email Address
   * from Gmail Title Bar" userscript left, greasyfork 38152; the switcher's selectors read English labels only): the
   * thread's latest message is the rep's own, from another device, shown under the name they gave ("Ich"), not "me".
   * Its page world holds `globals` as Gmail's `GLOBALS` (account-address.ts); a document of its own, so that no page
   * world of an earlier test answers.
   */
  const germanInbox = (globals: unknown) => {
    const doc = document.implementation.createHTMLDocument("Posteingang - Gmail");
    doc.body.innerHTML = `<table><tbody>${row({
      thread: "18f7000000000008",
      last: "18f7000000000108",
      participants: [
        ["erin@prospect.example", "Erin"],
        ["me@example.com", "Ich"],
      ],
      count: 3,
    })}</tbody></table>`;
    installAccountAddress({ document: doc, GLOBALS: globals } as unknown as Window & typeof globalThis);
    return doc;
  };
  // A Gmail array of 11 or more entries with the account's address at 10 (gmail.js api.get.user_email, b7dfdab).
  const globalsNaming = (address: unknown) => [...Array(10).fill(null), address, []];

  it("names the rep's own address in every language, so the rep's own latest message is no reply", () => {
    const doc = germanInbox(globalsNaming("Me@Example.com"));
    const own = ownAddresses(doc);
    expect(own).toEqual(new Set(["me@example.com"]));
    expect(readThreadRows(doc, own, NOW)).toEqual([]);
  });

  it("read when first needed: Gmail defines GLOBALS after the page-world script started", () => {
    const globals: unknown[] = [];
    const doc = germanInbox(globals);
    expect(ownAddresses(doc).size).toBe(0);
    globals.push(...globalsNaming("me@example.com"));
    expect(ownAddresses(doc)).toEqual(new Set(["me@example.com"]));
  });

  it("without Gmail's data, the account switcher still names the rep (its link to Google's sign-out options)", () => {
    const doc = germanInbox(undefined);
    doc.body.insertAdjacentHTML(
      "afterbegin",
      '<header id="gb"><a href="https://accounts.google.com/SignOutOptions?hl=de" aria-label="Google-Konto: Ich (Me@example.com)"></a></header>',
    );
    expect(ownAddresses(doc)).toEqual(new Set(["me@example.com"]));
  });

  it("anything but an address there, set by Gmail or by another script on <html>, names no one", () => {
    for (const value of ["", "Erin Prospect", "me @example.com", 42, { email: "me@example.com" }, `${"a".repeat(65)}@example.com`])
      expect(ownAddresses(germanInbox(globalsNaming(value))).size).toBe(0);
    // Read inside Gmail's page: what throws there stays there.
    const throwing = Object.defineProperty([], 10, {
      get() {
        throw new Error("Gmail's own getter");
      },
    });
    expect(ownAddresses(germanInbox(throwing)).size).toBe(0);
    const doc = germanInbox(undefined);
    doc.documentElement.setAttribute(ACCOUNT_ATTRIBUTE, "not an address");
    expect(ownAddresses(doc).size).toBe(0);
    // Without Gmail's data, the rep's message reads as the prospect's reply: what the address above prevents.
    expect(readThreadRows(doc, ownAddresses(doc), NOW).map((t) => t.signals[0]?.kind)).toEqual(["reply"]);
  });
});

describe("Gmail's answer to a thread list (rows may carry no message id)", () => {
  const ME = { id: idAt(AT_9, 1), from: "me@example.com", name: "Me", sent: true };
  const CAROL = { id: idAt(AT_10_15, 2), from: "carol@prospect.example", name: "Carol" };
  const DAEMON = { id: idAt(AT_10_15, 3), from: "mailer-daemon@googlemail.com", name: "Mail Delivery Subsystem" };
  const later = (m: typeof CAROL, low: number) => ({ ...m, id: idAt(new Date(AT_10_15.getTime() + low * MINUTE), low) });
  const read = (threads: Parameters<typeof gmailListAnswer>[0], own = OWN) =>
    readListedThreads(parseThreadList(parseGmailJson(gmailListAnswer(threads))), own, NOW);

  it("every reply after the sender's first message is a reply, keyed by its legacy id and dated by it, as in the conversation", () => {
    const found = read([{ syncThreadId: "thread-a:r1", legacyThreadId: "18f7000000000011", messages: [ME, CAROL, later(ME, 4)] }]);
    expect(found).toEqual([
      {
        threadId: "18f7000000000011",
        signals: [{ kind: "reply", threadId: "18f7000000000011", gmailMessageId: CAROL.id, at: AT_10_15.toISOString(), from: CAROL.from }],
      },
    ]);
  });

  it("a real list of 2020-04-27 (gmail.js's captures): Eric's replies to Elon's emails, told by Elon's label ^f alone", () => {
    const capture = (name: string) =>
      fromObjectForm(JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../../test/fixtures/gmail", name), "utf8")));
    const replies = (threads: ReturnType<typeof parseThreadList>) =>
      readListedThreads(threads, new Set(), NOW).map((t) => [
        t.threadId,
        t.signals.map((s) => [s.kind, s.gmailMessageId, s.kind === "reply" ? s.from : null, s.at]),
      ]);
    const expected = [
      ["171bb02371f0da52", [["reply", "171bb04953ebe511", "eric@gmail.com", "2020-04-27T09:42:51.966Z"]]],
      [
        "171baf6611169bff",
        [
          ["reply", "171baff1391825db", "eric@gmail.com", "2020-04-27T09:36:51.089Z"],
          ["reply", "171bb01b00b9797a", "eric@gmail.com", "2020-04-27T09:39:42.219Z"],
        ],
      ],
    ];
    expect(replies(parseThreadList(capture("list-answer-2020-04-27.json")))).toEqual(expected);
    expect(replies(parseEmbeddedThreadList(capture("list-embedded-2020-04-27.json")))).toEqual(expected);
  });

  it("a thread someone else started: their first message is no reply; the sender's own threads give nothing", () => {
    const answer = later(CAROL, 5);
    const found = read([
      { syncThreadId: "thread-f:1", legacyThreadId: "18f7000000000012", messages: [{ ...CAROL, id: idAt(AT_9, 0) }, later(ME, 1), answer] },
      { syncThreadId: "thread-a:r2", legacyThreadId: "18f7000000000013", messages: [ME, later(ME, 6)] },
    ]);
    expect(found.flatMap((t) => t.signals.map((s) => s.gmailMessageId))).toEqual([answer.id]);
  });

  it("the sender's messages are those labelled sent, or from their addresses: a send-as alias is no reply, and with neither nothing is", () => {
    const alias = { ...later(ME, 7), from: "sales@example.com" };
    expect(read([{ syncThreadId: "thread-a:r5", legacyThreadId: "18f7000000000016", messages: [ME, CAROL, alias] }], new Set())).toEqual([
      { threadId: "18f7000000000016", signals: [expect.objectContaining({ gmailMessageId: CAROL.id })] },
    ]);
    // No label and no own address: nothing tells the sender, and nothing is taken for a reply.
    const unlabelled = { ...ME, sent: false };
    expect(read([{ syncThreadId: "thread-a:r6", legacyThreadId: "18f7000000000017", messages: [unlabelled, CAROL] }], new Set())).toEqual(
      [],
    );
    expect(read([{ syncThreadId: "thread-a:r6", legacyThreadId: "18f7000000000017", messages: [unlabelled, CAROL] }])).toHaveLength(1);
  });

  it("a notice is read from its own snippet, or as the thread's latest message from the thread's; one with neither waits for its conversation", () => {
    const latest = read([
      { syncThreadId: "thread-a:r3", legacyThreadId: "18f7000000000014", snippet: HARD_NOTICE, messages: [ME, DAEMON] },
    ]);
    expect(asReported(latest[0]?.signals[0])).toMatchObject({
      kind: "bounce",
      gmailMessageId: DAEMON.id,
      bounce: { kind: "hard", recipients: ["carol@nowhere.example"] },
    });
    // An earlier notice, Carol's reply the latest message: read from the notice's own snippet (`[9]`).
    const earlier = read([
      {
        syncThreadId: "thread-a:r4",
        legacyThreadId: "18f7000000000015",
        snippet: "Thanks!",
        messages: [ME, { ...DAEMON, snippet: HARD_NOTICE }, later(CAROL, 8)],
      },
    ]);
    expect(earlier[0]?.signals.map((s) => [s.kind, s.gmailMessageId])).toEqual([
      ["bounce", DAEMON.id],
      ["reply", later(CAROL, 8).id],
    ]);
    expect(asReported(earlier[0]?.signals[0])).toMatchObject({ bounce: { kind: "hard", recipients: ["carol@nowhere.example"] } });
    // Without its own snippet, an earlier notice waits; so does the latest without either.
    const waiting = read([
      { syncThreadId: "thread-a:r4", legacyThreadId: "18f7000000000015", snippet: "Thanks!", messages: [ME, DAEMON, later(CAROL, 8)] },
    ]);
    expect(waiting[0]?.signals.map((s) => s.kind)).toEqual(["reply"]);
    expect(read([{ syncThreadId: "thread-a:r3", legacyThreadId: "18f7000000000014", messages: [ME, DAEMON] }])).toEqual([]);
  });

  it("a reply has the thread and message keys its row and its conversation give it, also where the answer names the thread by its sync id", () => {
    document.title = "Inbox - me@example.com - Gmail";
    document.body.innerHTML = `<table><tbody>${row({
      thread: "18f7a1b2c3d4e5f6",
      last: CAROL.id,
      participants: [
        ["me@example.com", "me"],
        [CAROL.from, CAROL.name],
      ],
      count: 2,
    })}</tbody></table>`;
    const [fromRow] = readThreadRows(document, OWN, NOW);
    conversation(MINE, message({ id: `msg-f:${BigInt(`0x${CAROL.id}`)}`, email: CAROL.from, name: CAROL.name, body: "Yes" }));
    const fromConversation = readConversation(document, OWN, NOW);
    // The answer names the thread only by its number, "thread-f:<decimal>", which is its legacy id in decimal.
    const [fromAnswer] = read([{ syncThreadId: `thread-f:${BigInt("0x18f7a1b2c3d4e5f6")}`, legacyThreadId: "", messages: [ME, CAROL] }]);
    const keys = (t: { threadId: string; signals: Signal[] } | null | undefined) => [t?.threadId, t?.signals[0]?.gmailMessageId];
    expect(keys(fromRow)).toEqual(["18f7a1b2c3d4e5f6", CAROL.id]);
    expect(keys(fromConversation)).toEqual(keys(fromRow));
    expect(keys(fromAnswer)).toEqual(keys(fromRow));
  });
});

describe("the real classic thread list (thread-list-classic-2014-12.html)", () => {
  it('finds the sender\'s own address from the participants Gmail names "me"; its rows carry no ids, so nothing is reported', () => {
    const fixture = path.resolve(import.meta.dirname, "../../../test/fixtures/gmail/thread-list-classic-2014-12.html");
    document.title = "Inbox - Gmail";
    // Its inline scripts are Gmail's own: not run here.
    document.body.innerHTML = readFileSync(fixture, "utf8").replace(/<script[\s\S]*?<\/script>/g, "");
    const own = ownAddresses(document);
    expect(own).toEqual(new Set(["streak.web.test.1@gmail.com"]));
    expect(readThreadRows(document, own, NOW)).toEqual([]);
  });
});

describe("ids and dates", () => {
  it("keys a message by its legacy hex id in every view; drafts' client ids are not keys", () => {
    expect(stableMessageId("#msg-f:1799000000000000777")).toBe(BigInt("1799000000000000777").toString(16));
    expect(stableMessageId("18f7a1b2c3d4e5f6")).toBe("18f7a1b2c3d4e5f6");
    expect(stableMessageId("#msg-a:r-123456")).toBeNull();
  });

  it("dates a reply by the time its Gmail id holds, in any UI language, never after now; by the title shown otherwise", () => {
    const reply = (id: string, date: string) =>
      conversation(MINE, message({ id, email: "carol@prospect.example", name: "Carol", date, body: "Passt!" }));
    const at = () => readConversation(document, OWN, NOW)?.signals[0]?.at;
    // A Russian Gmail's title (the form of the 2019-12-26 row in gmail-selectors.ts), which Date.parse cannot read: the
    // id still gives the time.
    const russian = "сб, 22 нояб. 2026 г., 10:15";
    reply(`msg-f:${BigInt(`0x${idAt(AT_10_15, 0xabc)}`)}`, russian);
    expect(at()).toBe(AT_10_15.toISOString());
    // An id from after now (this computer's clock is slow): now.
    reply(`msg-f:${BigInt(`0x${idAt(new Date(NOW.getTime() + MINUTE), 1)}`)}`, "Sat, Nov 22, 2026, 12:01 PM");
    expect(at()).toBe(NOW.toISOString());
    // An id that holds no time since Gmail began: the title, then now.
    reply("msg-f:4096", "Sat, Nov 22, 2026, 10:15 AM");
    expect(at()).toBe(new Date(2026, 10, 22, 10, 15, 59, 999).toISOString());
    reply("msg-f:4096", russian);
    expect(at()).toBe(NOW.toISOString());
  });

  it("reads Gmail's date titles as the end of their minute, and never a date after now", () => {
    expect(gmailDate("Thu, Dec 18, 2014 at 12:35 PM", NOW)).toBe(new Date(2014, 11, 18, 12, 35, 59, 999).toISOString());
    expect(gmailDate("Sat, Nov 22, 2026, 10:15\u202fAM (2 hours ago)", NOW)).toBe(new Date(2026, 10, 22, 10, 15, 59, 999).toISOString());
    // A date with its offset is read in that offset, whatever this machine's zone: the day before, so before NOW's
    // noon in every zone (UTC−12 to UTC+14).
    expect(gmailDate("Sat Nov 21 2026 11:30:05 GMT+0000 (Coordinated Universal Time)", NOW)).toBe("2026-11-21T11:30:05.999Z");
    // A notice in the minute of now: at most now.
    expect(gmailDate("Sun, Nov 22, 2026, 12:00 PM", NOW)).toBe(NOW.toISOString());
    expect(gmailDate(NOW.toString(), NOW)).toBe(NOW.toISOString()); // with this machine's own offset written
    expect(gmailDate("Dec 31, 2030, 9:00 AM", NOW)).toBe(NOW.toISOString());
    expect(gmailDate("gestern", NOW)).toBe(NOW.toISOString());
  });
});
