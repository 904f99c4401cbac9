// The dashboard (an extension page): campaigns with their metrics, people by engagement score, the message list with
// filters, one contact's timeline, and CSV export. Everything comes through the background's page handlers
// (background/dashboard.ts), which hold the token; lists are paginated with the tracker's cursors ("Load more").
// Views live in the URL hash (#campaigns, #people, #messages?campaign=…, #contact/<email>), so links and reloads work.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { CampaignDetail, CampaignSummary, ContactSummary, MessageFilter, MessageListItem, TimelineItem } from "../../../shared/api";
import { MESSAGE_FILTERS } from "../../../shared/api";
import type { ExportName } from "../background/dashboard";
import { callFromPage } from "../messaging";
import { Time, useNow } from "../pages/time";
import { counted, errorText, shortUrl, subjectShown } from "../words";
import { ActivityChart } from "./chart";
import { ConnectionGate } from "./connection-gate";
import { FollowUps } from "./follow-ups";
import { MessagePage } from "./message-page";
import {
  DataTable,
  go,
  Paged,
  SCORE_EXPLAINED,
  Score,
  STATE_WORDS,
  Status,
  shownState,
  stateWords,
  useSorted,
  useTyped,
  ViewLink,
} from "./ui";
import { usePages } from "./use-pages";

type View =
  | { name: "campaigns" }
  | { name: "campaign"; campaign: string }
  | { name: "people" }
  | { name: "messages" }
  | { name: "follow-ups" }
  | { name: "message"; id: string }
  | { name: "contact"; email: string };

interface Route {
  view: View;
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(search);
  const [head, ...rest] = path.split("/");
  const tail = decodeURIComponent(rest.join("/"));
  if (head === "campaign" && tail) return { view: { name: "campaign", campaign: tail }, params };
  if (head === "contact" && tail) return { view: { name: "contact", email: tail }, params };
  if (head === "message" && tail) return { view: { name: "message", id: tail }, params };
  if (head === "people" || head === "campaigns" || head === "follow-ups") return { view: { name: head }, params };
  return { view: { name: "messages" }, params };
}

const pct = (rate: number) => `${Math.round(rate * 1000) / 10}%`;

/** Every campaign name (the picker's choices), fetched once per page load. */
let campaignNames: Promise<string[]> | null = null;
function loadCampaignNames(): Promise<string[]> {
  campaignNames ??= (async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await callFromPage("listCampaigns", { cursor });
      names.push(...r.campaigns.map((c) => c.name));
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    return names.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: "base" }));
  })().catch((error: unknown) => {
    campaignNames = null;
    throw error;
  });
  return campaignNames;
}

/** Picks a campaign from the ones that exist (no exact typing needed); "" for all. */
function CampaignPicker({ value, onPick }: { value: string; onPick: (name: string) => void }) {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    loadCampaignNames().then(setNames, () => setNames([]));
  }, []);
  const choices = value && !names.includes(value) ? [value, ...names] : names;
  return (
    <label>
      Campaign{" "}
      <select name="campaign" value={value} onChange={(e) => onPick(e.currentTarget.value)}>
        <option value="">all</option>
        {choices.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Each rate over sent, with the count it comes from. */
const RATES = [
  ["open", "openRate", "opened"],
  ["click", "clickRate", "clicked"],
  ["reply", "replyRate", "replied"],
  ["bounce", "bounceRate", "bounced"],
  ["unsubscribe", "unsubscribeRate", "unsubscribed"],
] as const satisfies readonly (readonly [string, keyof CampaignSummary, keyof CampaignSummary])[];

function MetricCells({ c }: { c: CampaignSummary }) {
  return (
    <>
      <td class="num" data-col="sent">
        {c.sent}
      </td>
      {RATES.map(([col, rate, count]) => (
        <td class="num" data-col={col} key={col}>
          {pct(c[rate])} <span class="muted">({c[count]})</span>
        </td>
      ))}
    </>
  );
}

function MetricHeads() {
  return (
    <>
      {["Sent", "Opened", "Clicked", "Replied", "Bounced", "Tracking off"].map((h) => (
        <th class="num" key={h}>
          {h}
        </th>
      ))}
    </>
  );
}

const CAMPAIGN_COLUMNS: Record<string, (c: CampaignSummary) => string | number | null> = {
  name: (c) => c.name.toLowerCase(),
  sent: (c) => c.sent,
  open: (c) => c.openRate,
  click: (c) => c.clickRate,
  reply: (c) => c.replyRate,
  bounce: (c) => c.bounceRate,
  unsubscribe: (c) => c.unsubscribeRate,
  lastSent: (c) => c.lastSentAt,
};

function CampaignTable({ items }: { items: CampaignSummary[] }) {
  const now = useNow();
  const { sorted, head } = useSorted(items, CAMPAIGN_COLUMNS);
  return (
    <DataTable
      testid="campaigns"
      head={
        <>
          {head("name", "Campaign", { text: true })}
          {head("sent", "Sent", { num: true })}
          {head("open", "Opened", { num: true })}
          {head("click", "Clicked", { num: true })}
          {head("reply", "Replied", { num: true })}
          {head("bounce", "Bounced", { num: true })}
          {head("unsubscribe", "Tracking off", { num: true, title: "Recipients who turned tracking off" })}
          {head("lastSent", "Last sent")}
        </>
      }
    >
      {sorted.map((c) => (
        <tr key={c.name} data-campaign={c.name}>
          <td>
            <ViewLink path={`campaign/${encodeURIComponent(c.name)}`}>{c.name}</ViewLink>
          </td>
          <MetricCells c={c} />
          <td>
            <Time iso={c.lastSentAt} now={now} />
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function Campaigns() {
  const list = usePages({}, (_query, cursor) =>
    callFromPage("listCampaigns", { cursor }).then((r) => ({ items: r.campaigns, nextCursor: r.nextCursor })),
  );
  return (
    <section>
      <p class="muted">Rates are over emails sent, from real readers only (machines and your own views never count).</p>
      <Paged list={list} empty="No campaign yet: name one in the compose window (Campaign).">
        {(items) => <CampaignTable items={items} />}
      </Paged>
    </section>
  );
}

function Campaign({ name }: { name: string }) {
  const [detail, setDetail] = useState<CampaignDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callFromPage("campaignDetail", { name }).then(setDetail, (e: unknown) => setError(errorText(e)));
  }, [name]);
  return (
    <section>
      <h2 data-testid="campaign-name">{name}</h2>
      <Status items={detail ? [detail] : null} error={error} empty="" />
      {detail ? (
        <>
          <DataTable testid="campaign-metrics" head={<MetricHeads />}>
            <tr>
              <MetricCells c={detail} />
            </tr>
          </DataTable>
          <h2>Top links</h2>
          {detail.topLinks.length === 0 ? (
            <p class="muted">No counted click yet.</p>
          ) : (
            <ol data-testid="top-links">
              {detail.topLinks.map((l) => (
                <li key={l.url}>
                  <a href={l.url} target="_blank" rel="noreferrer" title={l.url}>
                    {shortUrl(l.url, 60)}
                  </a>{" "}
                  — {counted(l.clicks, "click")} ({l.uniqueClicks} unique)
                </li>
              ))}
            </ol>
          )}
          <p>
            <button type="button" class="link" onClick={() => go("messages", { campaign: name })}>
              Its messages
            </button>{" "}
            ·{" "}
            <button type="button" class="link" onClick={() => go("people", { campaign: name })}>
              Its people
            </button>
          </p>
        </>
      ) : null}
    </section>
  );
}

const PEOPLE_COLUMNS: Record<string, (c: ContactSummary) => string | number | null> = {
  contact: (c) => (c.name ?? c.email).toLowerCase(),
  score: (c) => c.score,
  lastActivity: (c) => c.lastActivityAt,
  emails: (c) => c.sent,
  status: (c) => contactStatus(c),
};

function PeopleTable({ items }: { items: ContactSummary[] }) {
  const now = useNow();
  const { sorted, head } = useSorted(items, PEOPLE_COLUMNS);
  return (
    <DataTable
      testid="people"
      head={
        <>
          {head("contact", "Contact", { text: true })}
          {head("score", "Score", { num: true, title: SCORE_EXPLAINED })}
          {head("lastActivity", "Last activity")}
          {head("emails", "Emails", { num: true })}
          {head("status", "Status", { text: true })}
        </>
      }
    >
      {sorted.map((c) => (
        <tr key={c.email} data-email={c.email}>
          <td>
            <ViewLink path={`contact/${encodeURIComponent(c.email)}`}>{c.name ? `${c.name} <${c.email}>` : c.email}</ViewLink>
          </td>
          <td class="num" data-col="score">
            <Score score={c.score} />
          </td>
          <td>
            <Time iso={c.lastActivityAt} now={now} />
          </td>
          <td class="num">{c.sent}</td>
          <td>{contactStatus(c)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function People({ params }: { params: URLSearchParams }) {
  const sort = params.get("sort") === "lastActivity" ? "lastActivity" : "score";
  const campaign = params.get("campaign") ?? "";
  const minScore = Number(params.get("minScore") ?? "") || 0;
  const set = (changes: Record<string, string>) => go("people", { sort, campaign, minScore: minScore ? String(minScore) : "", ...changes });
  const [minText, setMinText] = useTyped(minScore ? String(minScore) : "", (text) => set({ minScore: text }));
  const list = usePages({ sort, campaign: campaign || undefined, minScore: minScore || undefined }, (query, cursor) =>
    callFromPage("listContacts", { ...query, cursor }).then((r) => ({
      items: r.contacts,
      nextCursor: r.nextCursor,
      pendingContacts: r.pendingContacts,
    })),
  );
  // The tracker scores a big account's contacts over several requests (docs/protocol.md §13): ask again while each
  // answer leaves fewer to score, showing the list as it stands meanwhile.
  const pending = list.first?.pendingContacts ?? 0;
  // What the last request asked again for left: a count that stops going down stops the asking (nothing to redraw).
  const askedAgainAt = useRef(Number.POSITIVE_INFINITY);
  useEffect(() => {
    if (pending > 0 && pending < askedAgainAt.current) {
      askedAgainAt.current = pending;
      list.again?.();
    }
  }, [list.first]);
  return (
    <section>
      <div class="filters">
        <label>
          Most{" "}
          <select name="sort" value={sort} onChange={(e) => set({ sort: e.currentTarget.value })}>
            <option value="score">engaged</option>
            <option value="lastActivity">recently active</option>
          </select>{" "}
          first
        </label>
        <CampaignPicker value={campaign} onPick={(name) => set({ campaign: name })} />
        <label>
          Minimum score{" "}
          <input type="number" name="minScore" min="0" step="0.5" value={minText} onInput={(e) => setMinText(e.currentTarget.value)} />
        </label>
      </div>
      <p class="muted" data-testid="score-explained">
        {SCORE_EXPLAINED}
      </p>
      {pending > 0 ? (
        <p class="muted" role="status" data-testid="people-pending">
          Still scoring {pending.toLocaleString()} contacts: some are missing below or out of their final place.
        </p>
      ) : null}
      <Paged list={list} empty="Nobody matches.">
        {(items) => <PeopleTable items={items} />}
      </Paged>
    </section>
  );
}

function contactStatus(c: ContactSummary): string {
  const parts: string[] = [];
  if (c.suppressed) parts.push("suppressed (bounced)");
  else if (c.bounceKind === "soft") parts.push("soft bounce");
  if (c.optedOut) parts.push("turned tracking off");
  return parts.join(", ");
}

const MESSAGE_COLUMNS: Record<string, (m: MessageListItem) => string | number | null> = {
  subject: (m) => (m.subject ?? "").toLowerCase(),
  to: (m) => (m.recipients[0]?.name ?? m.recipients[0]?.email ?? "").toLowerCase(),
  sent: (m) => m.sentAt,
  lastOpen: (m) => m.lastOpenAt,
  state: (m) => stateWords(m),
  opens: (m) => m.openCount,
  clicks: (m) => m.clickCount,
  replies: (m) => m.replyCount,
};

/** A bounce in a cell: kind, the addresses it names, and what the notice said. */
function bounceText(m: MessageListItem): string {
  if (!m.bounce) return "";
  return `${m.bounce.kind}${m.bounce.recipients.length ? `: ${m.bounce.recipients.join(", ")}` : ""}`;
}

function MessageTable({ items }: { items: MessageListItem[] }) {
  const now = useNow();
  const { sorted, head } = useSorted(items, MESSAGE_COLUMNS);
  return (
    <DataTable
      testid="messages"
      head={
        <>
          {head("subject", "Subject", { text: true })}
          {head("to", "To", { text: true })}
          {head("sent", "Sent")}
          {head("lastOpen", "Last opened")}
          {head("state", "State", { text: true })}
          {head("opens", "Opens", { num: true })}
          {head("clicks", "Clicks", { num: true })}
          {head("replies", "Replies", { num: true })}
          <th>Bounce</th>
        </>
      }
    >
      {sorted.map((m) => {
        const state = shownState(m);
        return (
          <tr key={m.id} data-id={m.id} data-state={m.state}>
            <td>
              <ViewLink path={`message/${encodeURIComponent(m.id)}`} title="Opens, devices and clicks of this email">
                {subjectShown(m.subject)}
              </ViewLink>
              {m.campaign ? <div class="muted">{m.campaign}</div> : null}
            </td>
            <td>
              {m.recipients.map((r, i) => (
                <span key={r.email}>
                  {i > 0 ? ", " : ""}
                  <ViewLink path={`contact/${encodeURIComponent(r.email)}`} title={r.email}>
                    {r.name || r.email}
                  </ViewLink>
                </span>
              ))}
            </td>
            <td>
              <Time iso={m.sentAt} now={now} />
            </td>
            <td data-col="last-open">
              <Time iso={m.lastOpenAt} now={now} />
            </td>
            <td class={`state-${state}`} data-col="state" data-shown={state}>
              {stateWords(m)}
              {m.unsubscribed && state !== "delivered" ? " (tracking turned off)" : ""}
            </td>
            <td class="num" data-col="opens">
              {m.openCount}
            </td>
            <td class="num" data-col="clicks">
              {m.clickCount}
            </td>
            <td class="num" data-col="replies">
              {m.replyCount}
            </td>
            <td>
              <span data-col="bounce">{bounceText(m)}</span>
              {m.bounce?.reason ? <div class="muted bounce-reason">{m.bounce.reason}</div> : null}
            </td>
          </tr>
        );
      })}
    </DataTable>
  );
}

/** The state filter's choices, in the order a rep thinks of them. */
const FILTER_ORDER: MessageFilter[] = ["replied", "clicked", "opened", "delivered", "bounced", "stopped"];

function Messages({ params }: { params: URLSearchParams }) {
  const campaign = params.get("campaign") ?? "";
  const stateParam = params.get("state") ?? "";
  const state = (MESSAGE_FILTERS as readonly string[]).includes(stateParam) ? (stateParam as MessageFilter) : undefined;
  const q = params.get("q") ?? "";
  const set = (changes: Record<string, string>) => go("messages", { campaign, state: state ?? "", q, ...changes });
  const [text, setText] = useTyped(q, (typed) => set({ q: typed }));
  const list = usePages({ campaign: campaign || undefined, state, q: q || undefined }, (query, cursor) =>
    callFromPage("listMessages", { ...query, cursor }).then((r) => ({ items: r.messages, nextCursor: r.nextCursor })),
  );
  return (
    <section>
      <ActivityChart />
      <div class="filters">
        <label>
          Search{" "}
          <input
            type="search"
            name="q"
            placeholder="subject, name or address"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <CampaignPicker value={campaign} onPick={(name) => set({ campaign: name })} />
        <label>
          State{" "}
          <select name="state" value={state ?? ""} onChange={(e) => set({ state: e.currentTarget.value })}>
            <option value="">any</option>
            {FILTER_ORDER.map((s) => (
              <option key={s} value={s}>
                {STATE_WORDS[s]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Paged list={list} empty="No message matches.">
        {(items) => <MessageTable items={items} />}
      </Paged>
    </section>
  );
}

const KIND_WORDS: Record<TimelineItem["kind"], string> = {
  sent: "sent",
  open: "opened",
  click: "clicked",
  reply: "replied to",
  bounce: "bounced",
  unsubscribe: "turned tracking off for",
};

/** Two steps, no window.confirm: the first click asks, the second deletes. */
function DeleteContact({ email, name }: { email: string; name: string | null }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = () =>
    callFromPage("deleteContact", { email, name }).then(
      () => go("people"),
      (e: unknown) => setError(errorText(e)),
    );
  return (
    <p>
      {asking ? (
        <>
          Delete every email sent only to {email}, its replies and bounces? (Opt-outs and the suppression list keep the address.){" "}
          <button type="button" name="delete-contact-confirm" onClick={() => void remove()}>
            Delete
          </button>
          <button type="button" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" name="delete-contact" onClick={() => setAsking(true)}>
          Delete this contact's data
        </button>
      )}
      {error ? <span class="error">{error}</span> : null}
    </p>
  );
}

/** Takes the address off the suppression list: the rep fixed it, or the bounce notice was wrong. */
function LiftSuppression({ email, onLifted }: { email: string; onLifted: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const lift = () => callFromPage("liftSuppression", { email }).then(onLifted, (e: unknown) => setError(errorText(e)));
  return (
    <p>
      The compose window warns before writing to a suppressed address.{" "}
      <button type="button" name="lift-suppression" onClick={() => void lift()}>
        Allow sending to {email} again
      </button>
      {error ? <span class="error">{error}</span> : null}
    </p>
  );
}

function Contact({ email }: { email: string }) {
  // A new `version` is a new query: the contact is read again after its suppression is lifted.
  const [version, setVersion] = useState(0);
  const list = usePages({ email, version }, (query, cursor) =>
    callFromPage("contactDetail", { email: query.email, cursor }).then((r) => ({
      items: r.timeline,
      nextCursor: r.nextCursor,
      contact: r.contact,
    })),
  );
  const c = list.first?.contact;
  const now = useNow();
  return (
    <section>
      <h2 data-testid="contact-email">{c?.name ? `${c.name} <${email}>` : email}</h2>
      {c ? (
        <p>
          Score{" "}
          <strong data-testid="contact-score" data-score={c.score}>
            <Score score={c.score} />
          </strong>{" "}
          · {counted(c.sent, "email")} · last activity <Time iso={c.lastActivityAt} now={now} />{" "}
          {contactStatus(c) ? `· ${contactStatus(c)}` : ""}
        </p>
      ) : null}
      {c?.suppressed ? <LiftSuppression email={email} onLifted={() => setVersion((v) => v + 1)} /> : null}
      {c ? <DeleteContact email={email} name={c.name} /> : null}
      <Paged list={list} empty="No activity.">
        {(items) => (
          <ol class="timeline" data-testid="timeline">
            {items.map((item, i) => (
              <li key={`${item.at}|${item.kind}|${item.messageId}|${i}`} data-kind={item.kind}>
                <span class="muted">
                  <Time iso={item.at} now={now} />
                </span>{" "}
                {item.kind === "sent" ? "You sent" : item.shared ? "Someone on this email" : email}{" "}
                {item.kind === "sent" ? "" : KIND_WORDS[item.kind]}{" "}
                <ViewLink path={`message/${encodeURIComponent(item.messageId)}`}>
                  <strong>{subjectShown(item.subject)}</strong>
                </ViewLink>
                {item.campaign ? <span class="muted"> ({item.campaign})</span> : null}
                {item.url ? (
                  <>
                    {" "}
                    → <code title={item.url}>{shortUrl(item.url, 60)}</code>
                  </>
                ) : null}
                {item.bounceKind ? ` (${item.bounceKind})` : ""}
              </li>
            ))}
          </ol>
        )}
      </Paged>
    </section>
  );
}

/** Saves text as a file through a Blob URL: the CSV never needs the token in the page. */
function download(filename: string, parts: string[]): void {
  const url = URL.createObjectURL(new Blob(parts, { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** How long an export's notice stays; it also goes with the view (the page renders a fresh Exports per tab). */
const NOTICE_MS = 8000;

/** A CSV export's parts, asked for one message each (background/dashboard.ts exportCsvPart), in order. */
async function exportParts(name: ExportName): Promise<string[]> {
  const parts: string[] = [];
  for (let cursor: string | undefined; ; ) {
    const part = await callFromPage("exportCsvPart", { name, cursor });
    parts.push(part.csv);
    if (part.next === null) return parts;
    cursor = part.next;
  }
}

function Exports() {
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);
  const run = (name: ExportName) => {
    setNotice(null);
    exportParts(name).then(
      (parts) => {
        const filename = `mailtracker-${name}-${new Date().toISOString().slice(0, 10)}.csv`;
        download(filename, parts);
        const rows = Math.max(0, parts.join("").split("\r\n").filter(Boolean).length - 1);
        document.documentElement.dataset.lastExport = `${name}:${rows}`;
        setNotice({ kind: "ok", text: `${filename}: ${counted(rows, "row")}` });
      },
      (e: unknown) => setNotice({ kind: "error", text: errorText(e) }),
    );
  };
  return (
    <div class="exports">
      Export CSV:{" "}
      {(["messages", "events", "contacts"] as const).map((name) => (
        <button type="button" key={name} name={`export-${name}`} onClick={() => run(name)}>
          {name}
        </button>
      ))}
      {notice ? (
        <span class={notice.kind} data-testid="export-notice">
          {notice.text}
        </span>
      ) : null}
    </div>
  );
}

const TABS = [
  ["messages", "Messages"],
  ["follow-ups", "Follow-ups"],
  ["people", "People"],
  ["campaigns", "Campaigns"],
] as const;

function Dashboard() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const { view, params } = route;
  const tab =
    view.name === "campaign" ? "campaigns" : view.name === "contact" ? "people" : view.name === "message" ? "messages" : view.name;
  return (
    <div>
      <h1>Mailtracker dashboard</h1>
      <nav class="tabs">
        {TABS.map(([name, label]) => (
          <a key={name} href={`#${name}`} aria-current={tab === name ? "page" : undefined} data-tab={name}>
            {label}
          </a>
        ))}
      </nav>
      <ConnectionGate>
        <Exports key={tab} />
        {view.name === "campaigns" ? <Campaigns /> : null}
        {view.name === "campaign" ? <Campaign name={view.campaign} /> : null}
        {view.name === "people" ? <People params={params} /> : null}
        {view.name === "messages" ? <Messages params={params} /> : null}
        {view.name === "follow-ups" ? <FollowUps /> : null}
        {view.name === "message" ? <MessagePage id={view.id} /> : null}
        {view.name === "contact" ? <Contact email={view.email} /> : null}
      </ConnectionGate>
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<Dashboard />, root);
