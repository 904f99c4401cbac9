// The toolbar popup: whether the tracker answers, today's and this week's opens and clicks, the recent activity
// (newest first; machine and sender events dimmed, with why), and the outbox of registrations not delivered yet.
// The activity is what the background read from the events feed (background/receipts.ts), kept in storage.
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import browser from "webextension-polyfill";
import { LABEL_TEXT } from "../../../shared/labels";
import type { ActivityState } from "../background/handlers";
import type { ActivityItem } from "../background/receipts";
import { callFromPage } from "../messaging";
import { OutboxList } from "../pages/outbox-list";
import { GmailHealthNotice } from "./gmail-health";

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

function Activity({ items }: { items: ActivityItem[] }) {
  if (items.length === 0)
    return (
      <p class="muted" data-testid="activity-empty">
        No opens or clicks yet.
      </p>
    );
  return (
    <ul class="activity" data-testid="activity">
      {items.slice(0, 30).map((item) => (
        <li
          key={item.cursor}
          class={item.counted ? "" : "muted"}
          data-kind={item.kind}
          data-label={item.label}
          data-counted={String(item.counted)}
          data-message-id={item.messageId}
        >
          <strong>{item.kind === "open" ? "Opened" : `Clicked link ${(item.linkIndex ?? 0) + 1}`}</strong> {item.subject || "(no subject)"}
          <div class="muted">
            {item.recipients.join(", ") || "unknown recipient"} · {ago(item.at)}
            {LABEL_TEXT[item.label] ? ` · ${LABEL_TEXT[item.label]}` : ""}
          </div>
        </li>
      ))}
    </ul>
  );
}

/** The popup refreshes this long after the previous refresh answered (one call, which also polls the feed). */
const REFRESH_MS = 3000;

function Popup() {
  const [activity, setActivity] = useState<ActivityState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    () =>
      callFromPage("getActivity", null).then(
        (answer) => {
          setActivity(answer);
          setError(null);
        },
        (e: unknown) => setError(String(e)),
      ),
    [],
  );
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
  return (
    <div>
      <h1>Mailtracker</h1>
      {state.connection.connected ? (
        <p class="ok" data-testid="connection">
          Connected to <code>{state.connection.trackerUrl}</code>
        </p>
      ) : (
        <p class="error" data-testid="connection">
          Not tracking: {state.connection.problem}
        </p>
      )}
      {state.connection.connected ? (
        <p class={activity.reachable ? "muted" : "error"} data-testid="reachable" data-reachable={String(activity.reachable)}>
          {activity.reachable ? "The tracker answers." : `The tracker does not answer: ${activity.problem}`}
        </p>
      ) : null}
      <GmailHealthNotice />
      <p data-testid="totals">
        Today: {activity.today.opens} open{activity.today.opens === 1 ? "" : "s"}, {activity.today.clicks} click
        {activity.today.clicks === 1 ? "" : "s"} · This week: {activity.week.opens} open{activity.week.opens === 1 ? "" : "s"},{" "}
        {activity.week.clicks} click{activity.week.clicks === 1 ? "" : "s"}
      </p>
      <h2>Recent activity</h2>
      <Activity items={activity.activity} />
      <h2>Outbox</h2>
      <OutboxList entries={state.outbox} onRetry={() => void callFromPage("retryOutbox", null).then(load)} />
      <button
        type="button"
        name="dashboard"
        onClick={() => void browser.tabs.create({ url: browser.runtime.getURL("extension/src/dashboard/index.html") })}
      >
        Dashboard
      </button>
      <button type="button" onClick={() => void browser.runtime.openOptionsPage()}>
        Options
      </button>
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<Popup />, root);
