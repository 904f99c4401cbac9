// The toolbar popup, a digest to glance at between calls: whether tracking works, today's and the last 7 days' counts,
// then one entry per email with something new in the last week ("Opened 4×, last 2 min ago · clicked
// calendly.com/…"), replies, bounces and opt-outs included and machine hits summed, each opening its Gmail thread.
// It fits the 600 px a browser gives a popup: the list scrolls, the buttons stay in view.
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import type { DigestItem } from "../../../shared/api";
import type { ActivityState } from "../background/handlers";
import type { Reachability } from "../background/tracker-reach";
import { callFromPage } from "../messaging";
import { OutboxList } from "../pages/outbox-list";
import { relativeTime, Time, useNow } from "../pages/time";
import { counted, errorText, firstNames, notCountedSignals, shortUrl, subjectShown, trackerAccessOffAbove } from "../words";
import { GmailHealthNotice } from "./gmail-health";

type Entry = DigestItem & { threadUrl: string };

/** What happened to one email, in one line: opens, clicked links, replies, bounce, opt-out. */
export function digestLine(item: DigestItem, now: number): string {
  const parts: string[] = [];
  if (item.replyCount > 0) parts.push(`replied${item.lastReplyAt ? ` ${relativeTime(item.lastReplyAt, now)}` : ""}`);
  if (item.bounce)
    parts.push(`bounced${item.bounce.reason ? `: ${item.bounce.reason}` : item.bounce.kind === "soft" ? " (temporary)" : ""}`);
  if (item.unsubscribed) parts.push("turned tracking off");
  if (item.openCount > 0) parts.push(`opened ${item.openCount}×${item.lastOpenAt ? `, last ${relativeTime(item.lastOpenAt, now)}` : ""}`);
  if (item.clickedLinks.length > 0)
    parts.push(
      `clicked ${item.clickedLinks
        .slice(0, 2)
        .map((l) => `${shortUrl(l.url, 28)}${l.clicks > 1 ? ` (${l.clicks}×)` : ""}`)
        .join(", ")}${item.clickedLinks.length > 2 ? ` +${item.clickedLinks.length - 2}` : ""}`,
    );
  if (parts.length === 0) parts.push("no counted open yet");
  const line = parts.join(" · ");
  return line.charAt(0).toUpperCase() + line.slice(1);
}

/**
 * Why the tracker at `trackerUrl` is not reached, and when the emails sent meanwhile reach it: a tracker that refuses
 * the token, or whose site the browser withholds, is not said not to answer. The withheld site is given back by the
 * Allow button below (gmail-health.tsx), not by the options page's that the call's failure names (api.ts): Chrome's
 * asks from the popup, Firefox's opens the options page to ask, and says so beside it (pages/allow-access.tsx).
 */
export function notReachedLine({ problem, refused, accessWithdrawn }: Reachability, trackerUrl: string): string {
  const lead = refused || accessWithdrawn ? "Not registering emails" : "The tracker does not answer";
  const why = accessWithdrawn ? trackerAccessOffAbove(trackerUrl) : problem;
  const until = refused ? "you connect again" : accessWithdrawn ? "the access is given back" : "it answers";
  return `${lead}: ${why}. Emails you send still carry their tracking, and the tracker is told of them once ${until}.`;
}

function Digest({ items, now }: { items: Entry[]; now: number }) {
  if (items.length === 0)
    return (
      <p class="muted" data-testid="digest-empty">
        Nothing in the last 7 days. Send an email from Gmail: who opens it, clicks or replies shows here.
      </p>
    );
  return (
    <ul class="digest" data-testid="digest">
      {items.map((item) => {
        const to = item.recipients.map((r) => r.name || r.email);
        return (
          <li
            key={item.id}
            data-message-id={item.id}
            data-opens={item.openCount}
            data-replies={item.replyCount}
            data-bounced={String(item.bounce !== null)}
            class={item.bounce ? "bounced" : item.replyCount > 0 ? "replied" : ""}
          >
            <a href={item.threadUrl} target="_blank" rel="noreferrer" class="subject" title="Open the thread in Gmail">
              {subjectShown(item.subject)}
            </a>
            <div class="what">{digestLine(item, now)}</div>
            <div class="muted">
              {to.length > 0 ? `To ${firstNames(to)}` : "No recipient"}
              {" · "}
              <Time iso={item.lastActivityAt} now={now} />
              {item.machineHits > 0 ? (
                <span data-testid="machine-hits"> · {counted(item.machineHits, "machine hit")} not counted</span>
              ) : null}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** The popup refreshes this long after the previous refresh answered (one call, which also polls the feed). */
const REFRESH_MS = 3000;

const openPage = (path: string) => void browser.tabs.create({ url: browser.runtime.getURL(path) }).then(() => window.close());

function Popup() {
  const [activity, setActivity] = useState<ActivityState | null>(null);
  const [digest, setDigest] = useState<Entry[] | null>(null);
  const [digestError, setDigestError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  const load = useCallback(async () => {
    try {
      const answer = await callFromPage("getActivity", null);
      setActivity(answer);
      setError(null);
      if (!answer.state.connection.connected) return;
      // The digest is read after the feed poll above, so it includes what the poll just brought.
      await callFromPage("recentActivity", null).then(
        (r) => {
          setDigest(r.messages);
          setDigestError(null);
        },
        (e: unknown) => setDigestError(errorText(e)),
      );
    } catch (e) {
      setError(String(e));
    }
  }, []);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const tick = () =>
      void load().finally(() => {
        if (live) timer = setTimeout(tick, REFRESH_MS);
      });
    tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [load]);
  if (error) return <p class="error">{error}</p>;
  if (!activity) return <p class="muted">Loading…</p>;
  const { state } = activity;
  const { connection } = state;
  return (
    <div class="popup-layout">
      <header>
        <h1>Mailtracker</h1>
        {connection.connected ? (
          <p class={activity.reachable ? "ok" : "error"} data-testid="connection">
            {/* Unreachable is not untracked: sends still carry their pixel and links (the line below says why it is red). */}
            {activity.reachable ? "Tracking" : "Connected"}: <code>{connection.trackerUrl}</code>
          </p>
        ) : (
          <div data-testid="connection" class="connect-offer">
            <p>
              {connection.accountId === null && connection.problem === "not connected to a tracker yet"
                ? "Not connected yet: connect to your tracker to track the emails you send from Gmail."
                : `Not tracking: ${connection.problem}`}
            </p>
            <button
              type="button"
              name="connect"
              class="primary"
              onClick={() => void browser.runtime.openOptionsPage().then(() => window.close())}
            >
              Connect
            </button>
          </div>
        )}
        {connection.notice ? (
          <p class="error" data-testid="tracker-notice">
            {connection.notice}
          </p>
        ) : null}
        {connection.connected ? (
          <p class="error" hidden={activity.reachable} data-testid="reachable" data-reachable={String(activity.reachable)}>
            {activity.reachable ? "" : notReachedLine(activity, connection.trackerUrl)}
          </p>
        ) : null}
      </header>
      {connection.connected ? (
        <>
          <p data-testid="totals">
            Today: {counted(activity.today.opens, "open")}, {counted(activity.today.clicks, "click")} · Last 7 days:{" "}
            {counted(activity.week.opens, "open")}, {counted(activity.week.clicks, "click")}
          </p>
          {digestError ? <p class="error">{digestError}</p> : null}
          {/* Loading only while nothing is known: beside an error it would promise an answer that is not coming. */}
          {digest ? <Digest items={digest} now={now} /> : digestError ? null : <p class="muted">Loading…</p>}
        </>
      ) : null}
      <GmailHealthNotice trackerUrl={connection.connected ? connection.trackerUrl : null} />
      <section class="outbox-section">
        <OutboxList entries={state.outbox} onRetry={() => void callFromPage("retryOutbox", null).then(load)} />
        {/* Told where the rep looks for what did not reach the tracker: the options page alone is seldom opened. */}
        {activity.notCounted.listed + activity.notCounted.unlisted > 0 ? (
          <p data-testid="not-counted">{notCountedSignals(activity.notCounted)}: the options page lists them.</p>
        ) : null}
      </section>
      <footer>
        <button type="button" name="dashboard" onClick={() => openPage("extension/src/dashboard/index.html")}>
          Dashboard
        </button>
        <button type="button" name="follow-ups" onClick={() => openPage("extension/src/dashboard/index.html#follow-ups")}>
          Follow-ups
        </button>
        <button type="button" name="options" onClick={() => void browser.runtime.openOptionsPage().then(() => window.close())}>
          Options
        </button>
      </footer>
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<Popup />, root);
