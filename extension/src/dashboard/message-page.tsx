// One message's story (GET /api/messages/<id>): who it went to, its state in words, every open with its time, client,
// device and place (machine hits dimmed, with why), each link with its clicks and unique clicks, replies and the
// bounce with its reason, a link to its Gmail thread, and the deletion of its tracking data.
import { useEffect, useState } from "preact/hooks";
import type { MessageDetail } from "../../../shared/api";
import { COUNTED_LABELS, LABEL_TEXT } from "../../../shared/labels";
import { callFromPage } from "../messaging";
import { Time, useNow } from "../pages/time";
import { counted, errorText, placeShown, shortUrl, subjectShown } from "../words";
import { go, shownState, stateWords, ViewLink } from "./ui";

/**
 * Deletes the email's tracking data, asked first (two steps, as a contact's delete): as Gmail's conversation panel
 * does, and the way for an email Gmail's Undo may have kept from going out, to which the Undo toast sends the rep
 * (compose-tracking.ts).
 */
export function DeleteMessageData({ id }: { id: string }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = () =>
    callFromPage("deleteMessageData", { trackingId: id }).then(
      () => go("messages"),
      (e: unknown) => setError(`Not deleted: ${errorText(e)}. Try again.`),
    );
  return (
    <p data-testid="delete-message">
      {asking ? (
        <>
          Delete every open and click recorded for this email, and stop tracking it?{" "}
          <button type="button" name="delete-message-confirm" onClick={() => void remove()}>
            Delete
          </button>
          <button type="button" name="delete-message-cancel" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" name="delete-message" onClick={() => setAsking(true)}>
          Delete tracking data
        </button>
      )}
      {error ? (
        <span class="error" role="alert">
          {" "}
          {error}
        </span>
      ) : null}
    </p>
  );
}

export function MessagePage({ id }: { id: string }) {
  const [detail, setDetail] = useState<(MessageDetail & { threadUrl: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  useEffect(() => {
    // Another email: the last one's detail and error are not this one's, nor is a late answer about it.
    setDetail(null);
    setError(null);
    let current = true;
    callFromPage("messagePage", { trackingId: id }).then(
      (found) => current && setDetail(found),
      (e: unknown) => current && setError(errorText(e)),
    );
    return () => {
      current = false;
    };
  }, [id]);
  if (error)
    return (
      <p class="error" data-testid="error">
        {error}
      </p>
    );
  if (!detail) return <p class="muted">Loading…</p>;
  const countedOpens = detail.opens.filter((o) => COUNTED_LABELS.includes(o.label));
  const state = shownState(detail);
  return (
    <section data-testid="message-page" data-id={detail.id}>
      <h2 data-testid="message-subject">{subjectShown(detail.subject)}</h2>
      <p>
        To{" "}
        {detail.recipients.map((r, i) => (
          <span key={r.email}>
            {i > 0 ? ", " : ""}
            <ViewLink path={`contact/${encodeURIComponent(r.email)}`}>{r.name ? `${r.name} <${r.email}>` : r.email}</ViewLink>
          </span>
        ))}{" "}
        · sent <Time iso={detail.sentAt} now={now} />
        {detail.campaign ? (
          <>
            {" "}
            · campaign <ViewLink path={`campaign/${encodeURIComponent(detail.campaign)}`}>{detail.campaign}</ViewLink>
          </>
        ) : null}{" "}
        ·{" "}
        <a href={detail.threadUrl} target="_blank" rel="noreferrer" data-testid="thread-link">
          Open in Gmail
        </a>
      </p>
      <p class={`state state-${state}`} data-testid="message-state" data-state={state}>
        {stateWords(detail)} · {counted(countedOpens.length, "open")}, {counted(detail.clickCount, "click")},{" "}
        {counted(detail.replyCount, "reply", "replies")}
        {detail.lastReplyAt ? (
          <>
            {" "}
            (last <Time iso={detail.lastReplyAt} now={now} />)
          </>
        ) : null}
        {detail.recipients.length > 1 ? (
          <span class="muted"> · sent to several people: opens and clicks are "someone on this email"</span>
        ) : null}
      </p>
      {!detail.openTracking || !detail.clickTracking ? (
        <p class="muted">
          {!detail.openTracking ? "Opens were not tracked for this email. " : ""}
          {!detail.clickTracking ? "Clicks were not tracked for this email." : ""}
        </p>
      ) : null}
      {detail.bounce ? (
        <p class="error" data-testid="bounce">
          Bounced ({detail.bounce.kind === "hard" ? "the address does not accept mail" : "a temporary failure"})
          {detail.bounce.recipients.length ? ` for ${detail.bounce.recipients.join(", ")}` : ""}
          {detail.bounce.reason ? `: ${detail.bounce.reason}` : ""} · <Time iso={detail.bounce.at} now={now} />
        </p>
      ) : null}
      {detail.unsubscribed ? <p class="muted">A recipient turned tracking off for your emails: nothing more is recorded.</p> : null}

      <h3>Opens</h3>
      {detail.opens.length === 0 ? (
        <p class="muted">{detail.openTracking ? "No open seen yet." : "Not tracked."}</p>
      ) : (
        <ol class="timeline" data-testid="opens">
          {detail.opens.map((o, i) => {
            const isCounted = COUNTED_LABELS.includes(o.label);
            return (
              <li key={`${o.at}-${i}`} class={isCounted ? "" : "dim"} data-label={o.label} data-counted={String(isCounted)}>
                <Time iso={o.at} now={now} /> · <span data-col="client">{o.client ?? "unknown client"}</span>
                {o.device ? <span data-col="device"> on {o.device}</span> : null}
                {placeShown(o.place) ? <span> · {placeShown(o.place)}</span> : null}
                {LABEL_TEXT[o.label] ? <span class="why"> · {LABEL_TEXT[o.label]}</span> : null}
              </li>
            );
          })}
        </ol>
      )}

      <h3>Links</h3>
      {detail.links.length === 0 ? (
        <p class="muted">{detail.clickTracking ? "No tracked link in this email." : "Not tracked."}</p>
      ) : (
        <table class="data" data-testid="links">
          <thead>
            <tr>
              <th>Link</th>
              <th class="num">Clicks</th>
              <th class="num" title="Different people (by network address) who clicked">
                Unique
              </th>
              <th>Last click</th>
              <th>Not counted</th>
            </tr>
          </thead>
          <tbody>
            {detail.links.map((l) => (
              <tr key={l.index} data-index={l.index}>
                <td>
                  <a href={l.url} target="_blank" rel="noreferrer" title={l.url}>
                    {shortUrl(l.url, 60)}
                  </a>
                </td>
                <td class="num" data-col="clicks">
                  {l.clicks}
                </td>
                <td class="num" data-col="unique">
                  {l.uniqueClicks}
                </td>
                <td>
                  <Time iso={l.clickTimes[l.clickTimes.length - 1] ?? null} now={now} />
                </td>
                <td class="dim">
                  {l.otherClicks.length > 0
                    ? `${l.otherClicks.length} (${[...new Set(l.otherClicks.map((c) => c.label))].join(", ")})`
                    : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <DeleteMessageData id={detail.id} />
    </section>
  );
}
