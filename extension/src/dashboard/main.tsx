// The dashboard (an extension page): campaigns with their metrics, people by engagement score, the message list with
// filters, one contact's timeline, and CSV export. Everything comes through the background's page handlers
// (background/dashboard.ts), which hold the token; lists are paginated with the tracker's cursors ("Load more").
// Views live in the URL hash (#campaigns, #people, #messages?campaign=…, #contact/<email>), so links and reloads work.
import { type ComponentChildren, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { CampaignDetail, CampaignSummary, ContactSummary, MessageState, TimelineItem } from "../../../shared/api";
import { MESSAGE_STATES } from "../../../shared/api";
import type { ExportName } from "../background/dashboard";
import { callFromPage } from "../messaging";
import { usePages } from "./use-pages";

type View =
  | { name: "campaigns" }
  | { name: "campaign"; campaign: string }
  | { name: "people" }
  | { name: "messages" }
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
  if (head === "people" || head === "messages") return { view: { name: head }, params };
  return { view: { name: "campaigns" }, params };
}

function go(path: string, params: Record<string, string | undefined> = {}): void {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) search.set(k, v);
  const text = search.toString();
  location.hash = `#${path}${text ? `?${text}` : ""}`;
}

const pct = (rate: number) => `${Math.round(rate * 1000) / 10}%`;
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "—");
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

function Status({ items, error, empty }: { items: unknown[] | null; error: string | null; empty: string }) {
  if (error)
    return (
      <p class="error" data-testid="error">
        {error}
      </p>
    );
  if (!items) return <p class="muted">Loading…</p>;
  if (items.length === 0)
    return (
      <p class="muted" data-testid="empty">
        {empty}
      </p>
    );
  return null;
}

function More({ more }: { more: (() => void) | null }) {
  return more ? (
    <button type="button" name="more" onClick={more}>
      Load more
    </button>
  ) : null;
}

/** A paged list (usePages): loading, error or `empty`, then its items as `children` renders them, then "Load more". */
function Paged<T>({
  list,
  empty,
  children,
}: {
  list: { items: T[] | null; error: string | null; more: (() => void) | null };
  empty: string;
  children: (items: T[]) => ComponentChildren;
}) {
  return (
    <>
      <Status items={list.items} error={list.error} empty={empty} />
      {list.items && list.items.length > 0 ? children(list.items) : null}
      <More more={list.more} />
    </>
  );
}

function DataTable({ testid, head, children }: { testid: string; head: ComponentChildren; children: ComponentChildren }) {
  return (
    <table class="data" data-testid={testid}>
      <thead>
        <tr>{head}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** A link to another view of the dashboard. */
function ViewLink({ path, children }: { path: string; children: ComponentChildren }) {
  return (
    <button type="button" class="link" onClick={() => go(path)}>
      {children}
    </button>
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
      {["Sent", "Opened", "Clicked", "Replied", "Bounced", "Unsubscribed"].map((h) => (
        <th class="num" key={h}>
          {h}
        </th>
      ))}
    </>
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
        {(items) => (
          <DataTable
            testid="campaigns"
            head={
              <>
                <th>Campaign</th>
                <MetricHeads />
                <th>Last sent</th>
              </>
            }
          >
            {items.map((c) => (
              <tr key={c.name} data-campaign={c.name}>
                <td>
                  <ViewLink path={`campaign/${encodeURIComponent(c.name)}`}>{c.name}</ViewLink>
                </td>
                <MetricCells c={c} />
                <td>{when(c.lastSentAt)}</td>
              </tr>
            ))}
          </DataTable>
        )}
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
                  <code>{l.url}</code> — {l.clicks} click{l.clicks === 1 ? "" : "s"} ({l.uniqueClicks} unique)
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

function People({ params }: { params: URLSearchParams }) {
  const sort = params.get("sort") === "lastActivity" ? "lastActivity" : "score";
  const campaign = params.get("campaign") ?? "";
  const minScore = Number(params.get("minScore") ?? "") || 0;
  const set = (changes: Record<string, string>) => go("people", { sort, campaign, minScore: minScore ? String(minScore) : "", ...changes });
  const list = usePages({ sort, campaign: campaign || undefined, minScore: minScore || undefined }, (query, cursor) =>
    callFromPage("listContacts", { ...query, cursor }).then((r) => ({ items: r.contacts, nextCursor: r.nextCursor })),
  );
  return (
    <section>
      <div class="filters">
        <label>
          Sort by{" "}
          <select name="sort" value={sort} onChange={(e) => set({ sort: e.currentTarget.value })}>
            <option value="score">Engagement score</option>
            <option value="lastActivity">Last activity</option>
          </select>
        </label>
        <label>
          Campaign <input type="text" name="campaign" value={campaign} onChange={(e) => set({ campaign: e.currentTarget.value.trim() })} />
        </label>
        <label>
          Minimum score{" "}
          <input
            type="number"
            name="minScore"
            min="0"
            step="0.5"
            value={minScore || ""}
            onChange={(e) => set({ minScore: e.currentTarget.value })}
          />
        </label>
      </div>
      <p class="muted">
        Score: opens (less for each repeat of the same email), clicks ×3, replies ×10, halved every 14 days; shared emails split among their
        recipients.
      </p>
      <Paged list={list} empty="Nobody matches.">
        {(items) => (
          <DataTable
            testid="people"
            head={
              <>
                <th>Contact</th>
                <th class="num">Score</th>
                <th>Last activity</th>
                <th class="num">Emails</th>
                <th>Status</th>
              </>
            }
          >
            {items.map((c) => (
              <tr key={c.email} data-email={c.email}>
                <td>
                  <ViewLink path={`contact/${encodeURIComponent(c.email)}`}>{c.name ? `${c.name} <${c.email}>` : c.email}</ViewLink>
                </td>
                <td class="num" data-col="score">
                  {c.score.toFixed(2)}
                </td>
                <td>{when(c.lastActivityAt)}</td>
                <td class="num">{c.sent}</td>
                <td>{contactStatus(c)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Paged>
    </section>
  );
}

function contactStatus(c: ContactSummary): string {
  const parts: string[] = [];
  if (c.suppressed) parts.push("suppressed (bounced)");
  else if (c.bounceKind === "soft") parts.push("soft bounce");
  if (c.optedOut) parts.push("opted out");
  return parts.join(", ");
}

function Messages({ params }: { params: URLSearchParams }) {
  const campaign = params.get("campaign") ?? "";
  const stateParam = params.get("state") ?? "";
  const state = (MESSAGE_STATES as readonly string[]).includes(stateParam) ? (stateParam as MessageState) : undefined;
  const q = params.get("q") ?? "";
  const set = (changes: Record<string, string>) => go("messages", { campaign, state: state ?? "", q, ...changes });
  const list = usePages({ campaign: campaign || undefined, state, q: q || undefined }, (query, cursor) =>
    callFromPage("listMessages", { ...query, cursor }).then((r) => ({ items: r.messages, nextCursor: r.nextCursor })),
  );
  return (
    <section>
      <div class="filters">
        <label>
          Campaign <input type="text" name="campaign" value={campaign} onChange={(e) => set({ campaign: e.currentTarget.value.trim() })} />
        </label>
        <label>
          State{" "}
          <select name="state" value={state ?? ""} onChange={(e) => set({ state: e.currentTarget.value })}>
            <option value="">any</option>
            {MESSAGE_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search{" "}
          <input
            type="text"
            name="q"
            placeholder="subject or address"
            value={q}
            onChange={(e) => set({ q: e.currentTarget.value.trim() })}
          />
        </label>
      </div>
      <Paged list={list} empty="No message matches.">
        {(items) => (
          <DataTable
            testid="messages"
            head={
              <>
                <th>Subject</th>
                <th>To</th>
                <th>Sent</th>
                <th>Campaign</th>
                <th>State</th>
                <th class="num">Opens</th>
                <th class="num">Clicks</th>
                <th class="num">Replies</th>
                <th>Bounce</th>
              </>
            }
          >
            {items.map((m) => (
              <tr key={m.id} data-id={m.id} data-state={m.state}>
                <td>{m.subject || "(no subject)"}</td>
                <td>
                  {m.recipients.map((r, i) => (
                    <span key={r.email}>
                      {i > 0 ? ", " : ""}
                      <ViewLink path={`contact/${encodeURIComponent(r.email)}`}>{r.email}</ViewLink>
                    </span>
                  ))}
                </td>
                <td>{when(m.sentAt)}</td>
                <td>{m.campaign ?? ""}</td>
                <td class={`state-${m.state}`} data-col="state">
                  {m.state}
                  {m.unsubscribed ? " (unsubscribed)" : ""}
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
                <td data-col="bounce">
                  {m.bounce ? `${m.bounce.kind}${m.bounce.recipients.length ? `: ${m.bounce.recipients.join(", ")}` : ""}` : ""}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
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
  unsubscribe: "unsubscribed from",
};

/** Two steps, no window.confirm: the first click asks, the second deletes. */
function DeleteContact({ email }: { email: string }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = () =>
    callFromPage("deleteContact", { email }).then(
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
  return (
    <section>
      <h2 data-testid="contact-email">{c?.name ? `${c.name} <${email}>` : email}</h2>
      {c ? (
        <p>
          Score <strong data-testid="contact-score">{c.score.toFixed(2)}</strong> · {c.sent} email{c.sent === 1 ? "" : "s"} · last activity{" "}
          {when(c.lastActivityAt)} {contactStatus(c) ? `· ${contactStatus(c)}` : ""}
        </p>
      ) : null}
      {c?.suppressed ? <LiftSuppression email={email} onLifted={() => setVersion((v) => v + 1)} /> : null}
      {c ? <DeleteContact email={email} /> : null}
      <Paged list={list} empty="No activity.">
        {(items) => (
          <ol class="timeline" data-testid="timeline">
            {items.map((item, i) => (
              <li key={`${item.at}|${item.kind}|${item.messageId}|${i}`} data-kind={item.kind}>
                <span class="muted">{when(item.at)}</span>{" "}
                {item.kind === "sent" ? "You sent" : item.shared ? "Someone on this email" : email}{" "}
                {item.kind === "sent" ? "" : KIND_WORDS[item.kind]} <strong>{item.subject || "(no subject)"}</strong>
                {item.campaign ? <span class="muted"> ({item.campaign})</span> : null}
                {item.url ? (
                  <>
                    {" "}
                    → <code>{item.url}</code>
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
function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Exports() {
  const [notice, setNotice] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const run = (name: ExportName) => {
    setNotice(null);
    callFromPage("exportCsv", { name }).then(
      ({ filename, csv }) => {
        download(filename, csv);
        const rows = Math.max(0, csv.split("\r\n").filter(Boolean).length - 1);
        document.documentElement.dataset.lastExport = `${name}:${rows}`;
        setNotice({ kind: "ok", text: `${filename}: ${rows} row${rows === 1 ? "" : "s"}` });
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

function Dashboard() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const { view, params } = route;
  const tab = view.name === "campaign" ? "campaigns" : view.name === "contact" ? "people" : view.name;
  return (
    <div>
      <h1>Mailtracker dashboard</h1>
      <nav class="tabs">
        {(["campaigns", "people", "messages"] as const).map((name) => (
          <a key={name} href={`#${name}`} aria-current={tab === name ? "page" : undefined} data-tab={name}>
            {name[0]?.toUpperCase()}
            {name.slice(1)}
          </a>
        ))}
      </nav>
      <Exports />
      {view.name === "campaigns" ? <Campaigns /> : null}
      {view.name === "campaign" ? <Campaign name={view.campaign} /> : null}
      {view.name === "people" ? <People params={params} /> : null}
      {view.name === "messages" ? <Messages params={params} /> : null}
      {view.name === "contact" ? <Contact email={view.email} /> : null}
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<Dashboard />, root);
