// The bounce classifier on real delivery-failure notice texts (Gmail's own notices as it shows them, and
// common notices of other mail systems relayed by Gmail's Mail Delivery Subsystem).
import { describe, expect, it } from "vitest";
import { bouncedAddresses, classifyBounce, isBounceSender } from "./bounce";

const GMAIL_NO_SUCH_USER = `Address not found
Your message wasn't delivered to carol@nowhere.example because the address couldn't be found, or is unable to receive mail.
The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp`;

const GMAIL_DOMAIN_NOT_FOUND = `Address not found
Your message wasn't delivered to dan@no-such-domain.example because the domain no-such-domain.example couldn't be found. Check for typos or unnecessary spaces and try again.`;

const GMAIL_MAILBOX_FULL = `Message not delivered
Your message couldn't be delivered to erin@full.example because the recipient's mailbox is full.
The response from the remote server was:
552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp`;

const GMAIL_DELIVERY_INCOMPLETE = `Delivery incomplete
There was a temporary problem delivering your message to frank@slow.example. Gmail will retry for 47 more hours. You'll be notified if the delivery fails permanently.
The response was:
The recipient server did not accept our requests to connect. Learn more at https://support.google.com/mail/answer/7720 [mx.slow.example. 192.0.2.1: timed out]`;

const TOO_LARGE = `Message not delivered
Your message couldn't be delivered to gina@big.example because it is too large.
The response from the remote server was:
552 5.3.4 Message size exceeds fixed maximum message size`;

const PERMANENT_REJECTION = `Message blocked
Your message to hank@strict.example has been blocked. See technical details below for more information.
The response from the remote server was:
550 5.7.1 Service unavailable; client host [192.0.2.7] blocked using Spamhaus`;

const DISABLED = `Address not available: The email account that you tried to reach is disabled. 550 5.2.1`;

const POSTFIX_GREYLIST = `This is the mail system at host mx.example.
####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################
Your message could not be delivered for 4.0 hours. It will be retried until it is 5.0 days old.
<ivan@grey.example>: host mx.grey.example said: 450 4.2.0 <ivan@grey.example>: Recipient address rejected: Greylisted`;

describe("classifyBounce", () => {
  it.each([
    ["Gmail: the account does not exist (550 5.1.1)", GMAIL_NO_SUCH_USER, "hard"],
    ["Gmail: the domain couldn't be found", GMAIL_DOMAIN_NOT_FOUND, "hard"],
    ["a permanent policy rejection (550 5.7.1)", PERMANENT_REJECTION, "hard"],
    ["a disabled account (5.2.1)", DISABLED, "hard"],
    ["Gmail: mailbox full / over quota, though its code is 552 5.2.2", GMAIL_MAILBOX_FULL, "soft"],
    ["Gmail: delivery incomplete, a temporary problem", GMAIL_DELIVERY_INCOMPLETE, "soft"],
    ["message too large (552 5.3.4)", TOO_LARGE, "soft"],
    ["a delayed-delivery warning with a 4.x.x code", POSTFIX_GREYLIST, "soft"],
    ["a bare 4.x.x status", "Remote server said: 421 4.7.0 Try again later, closing connection.", "soft"],
    ["a bare 5.x.x status", "Remote server said: 554 5.0.0 Error", "hard"],
  ])("%s -> %s", (_what, text, kind) => {
    expect(classifyBounce(text)).toBe(kind);
  });

  it("reads the text with any line breaks and spacing", () => {
    expect(classifyBounce("The email account that you tried to reach\n   does not\n exist.")).toBe("hard");
    expect(classifyBounce("The email account that you tried to reach is\nover   quota.")).toBe("soft");
    expect(classifyBounce("Address\nnot   found")).toBe("hard");
  });
});

describe("bouncedAddresses", () => {
  it("names the recipient the notice failed on, not the daemon, Google's links or the sender", () => {
    expect(bouncedAddresses(GMAIL_NO_SUCH_USER)).toEqual(["carol@nowhere.example"]);
    expect(bouncedAddresses(`${POSTFIX_GREYLIST}\nFrom: me@example.com`, { exclude: ["me@example.com"] })).toEqual(["ivan@grey.example"]);
    expect(bouncedAddresses("From: mailer-daemon@googlemail.com to me@example.com: x@y.example", { exclude: ["me@example.com"] })).toEqual([
      "x@y.example",
    ]);
  });

  it("with the tracked email's recipients, only those of them the notice names", () => {
    const text = `${GMAIL_NO_SUCH_USER}\nOriginal message to carol@nowhere.example, cc: ok@fine.example, also mentions other@else.example`;
    expect(bouncedAddresses(text, { recipients: ["Carol@Nowhere.example", "ok@nowhere-else.example"] })).toEqual(["carol@nowhere.example"]);
    // None of them named: fall back to the addresses in the notice.
    expect(bouncedAddresses(GMAIL_MAILBOX_FULL, { recipients: ["someone@else.example"] })).toEqual(["erin@full.example"]);
  });
});

describe("isBounceSender", () => {
  it("knows mail daemons by their address", () => {
    expect(isBounceSender("mailer-daemon@googlemail.com")).toBe(true);
    expect(isBounceSender("MAILER-DAEMON@mx.example.org")).toBe(true);
    expect(isBounceSender("postmaster@example.org")).toBe(true);
    expect(isBounceSender("carol@prospect.example")).toBe(false);
    expect(isBounceSender("postmaster-fan@example.org")).toBe(false);
    expect(isBounceSender(null)).toBe(false);
  });

  it("takes no display name for a daemon's: anyone can call themselves Mail Delivery Subsystem", () => {
    // @ts-expect-error isBounceSender takes no display name, so that no caller can make one count again
    expect(isBounceSender("x@evil.example", "Mail Delivery Subsystem")).toBe(false);
  });
});
