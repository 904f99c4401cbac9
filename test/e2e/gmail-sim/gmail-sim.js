// SIMULATED Gmail behaviour for the end-to-end tests (not Gmail's code). What it mimics, and why:
// - Send like Gmail: on the send button's click, Enter/Space on it, or Ctrl/Cmd+Enter in the compose, it reads the
//   body's innerHTML, posts it in a `/sync/u/0/i/s` XHR shaped like the real captures in
//   shared/fixtures/gmail/sync-api/ (message at request[1][0][0][1][1][13][0], body HTML at msg[8][1][0][1], labels
//   at msg[10] with "^pfg"), then removes the compose. The answer (built by google.ts in the same shape as the
//   captured responses) names the thread's legacy id, which the "Sent" view then uses. A send whose answer google.ts
//   withholds (its `loseAnswerTo`) leaves "Sending…" on screen and the thread unknown to this page until it loads the
//   mailbox again (a reload, a new tab): the thread is Gmail's server's all the same.
// - Reply like Gmail: the conversation's quote stays out of the compose and goes out as a body part of its own,
//   `[2, "<br><div class=\"gmail_quote\">…"]` after the rep's `[0, html]` (every 2022-09-09-cvOnReplySend capture),
//   in the proxied form of Gmail's own copy. A button puts it into the compose ("Show trimmed content" is Gmail's
//   wording as its users know it; the button's markup is the simulation's own: the extension reads none of it).
// - Cancel like Gmail: an invalid recipient shows a [role=alertdialog] and nothing is sent.
// - Show images like Gmail: every image of a displayed message goes through the image proxy,
//   `https://ci3.googleusercontent.com/meips/<opaque>=s0-d-e1-ft#<original>` (the opaque part here is simply the
//   base64url original, so the simulated proxy in google.ts can fetch it).
// - Show links like Gmail: a link of a displayed message keeps its href, opens in a new tab, and carries Google's
//   redirect, `data-saferedirecturl` (shownLinks). Following it goes straight to the href here: that Gmail's own
//   handlers open the redirect instead is public (docs/gmail.md, "Links in a displayed message"), Google's /url is not
//   simulated.
// - Views are swapped without reloading (hash navigation), like Gmail: `#sent` lists the sent threads,
//   `#sent/<legacy thread id>` opens one.
// - Trusted Types, like Gmail since 2024-01 (Workspace update; gmail.js issues #779/#787; InboxSDK changed its own
//   code for it): google.ts serves the page with CSP `require-trusted-types-for 'script'`, and every HTML this page
//   renders goes through its own policy's createHTML as TrustedHTML, never a string. A conversation's body is built
//   off-document and attached a frame later (gmail.md "Trusted Types"): its images start loading before any
//   MutationObserver could see them. (Firefox before 148 has no Trusted Types: there the same code passes strings.)
// - Recipient chips as today's Gmail draws them: `div[role=option][data-hovercard-id][data-name]`, no `[email]`
//   (InboxSDK and gmail.js read data-hovercard-id; Mailvelope dropped `[email]` 2022-03). The send request lists
//   them at msg[2] as `[1, address, name]` (the 2022-09 captures; gmail.js parse_sent_message_payload_new). The To
//   field is laid out as InboxSDK's page parser walks it (page-parser.ts and set-recipients.ts, a8a6fe2 of
//   2026-07-23): `.GS .anm[name=to] > div×4 > [role=listbox]`, the chips two divs down in the listbox, which also
//   holds the `input[role=combobox][aria-autocomplete=list]` the rep types into (`peoplekit-id`: gmail.js
//   is_peoplekit_compose); the `tr.bzf td.eV div div` around it is the simulation's own (gmail.js's recipient
//   selector names `tr.bzf`, InboxSDK's walk of the compose gives the rest only for the old UI). Once the field
//   holds someone, Gmail suggests a person to add, with `data-hovercard-id` too, outside the named field (gmail.js
//   #713, 2022-08-03, and its fix e3630aa, whose selector keeps to `tr.bzf div[name]`: where in the row the
//   suggestion sits is inferred from it). Assumed, the worst case: the suggestion is an option of a listbox of its
//   own (nothing public shows its role or markup).
// - Schedule send: the arrow next to Send (`aria-haspopup`) opens a menu whose "Schedule send" item opens a time
//   picker; the message is posted with the label `^scheduled` instead of `^pfg` (gmail.js
//   parse_request_payload's send_scheduled_message, b7dfdab, 2026-03-25). Where Gmail's request carries the chosen
//   time is NOT known from public evidence: the simulation puts it at msg[6], the message's timestamp (unverified
//   assumption, 2026-11).
// - Send & Archive (`send-archive`, Gmail's setting that shows it in a reply's compose: off unless the rep turns it on;
//   leggett/simplify #881, 2026-01-29: shown in an inline reply, not in a popped-out one): a second send button,
//   `div[role=button].Uo` in the send cell, that sends as Send does and then archives the conversation. From evidence:
//   its class `Uo`, its place in the send cell's `div` and that it comes before Send (InboxSDK getSendAndArchiveButton,
//   a8a6fe2 of 2026-07-23, and its pull request 607 of 2019-04-18: a send selector naming no class found it instead
//   of Send). From the 2020 capture: the cell's `div.btA` holds the Send group `div.dC` between two empty
//   `div.J-J5-Ji`; that Send & Archive fills the first is inferred from that order and from InboxSDK hiding its
//   parent alone (replaceSendButton). Assumed: it carries Send's classes besides `Uo` (`aoO` among them, the worst case
//   for finding Send by its class: found first), its tooltip's words, that the send is the same request as Send's, and
//   that Gmail then shows the list the conversation was opened from (Gmail's default, without auto-advance), where an
//   archived conversation no longer shows in the inbox until someone writes in it again (ajaxtower.s26.xrea.com
//   gmail/sent/index25.html, a Gmail guide). How Gmail tells its server to archive is not public: the page posts to
//   `/_sim/archive`, a made-up address the extension must not (and does not) read. Only inline replies get it here.
// - Query flags pick a variant (several may be combined, `?sim=de,decimal-rows`):
//   `de`: a German UI (labels, tooltips, "An:" row prefix, alert text; gmail.md: Gmail is localised);
//   `decimal-rows`: Sent rows carry only `data-thread-id` (gmail.md: 2025-11 live dump), Gmail's sync id of the
//   thread: "#thread-a:r…" for a thread the rep started, which is no number of its legacy id (see showList), and
//   no legacy id of their latest message either: only Gmail's answer to the list names the messages;
//   `renamed-send`: a send button with no tooltip and new classes (a Gmail change the extension cannot follow);
//   `button-send`: Send, its arrow and Send & Archive drawn as real `<button>` elements with no role, their classes
//   and attributes kept, Enter and Space on them the browser's own click (assumed, the worst case: Gmail is turning
//   compose controls into buttons, so far those of the title bar, next to Send: InboxSDK 015a9a3, 2026-07-09, finds
//   Minimize, Full screen and Close as `.Hm .Hl`, `.Hm .Hq`, `.Hm .Ha` where `.Hm > img` found them, its comments
//   calling them "newer <button class=…>"; its Send is still `div[role=button]` at a8a6fe2, 2026-07-23);
//   `send-archive`: Gmail's Send & Archive setting on (above);
//   `renamed-undo`: a "Message sent" notice whose Undo and View message links lost their ids (a future change);
//   `long-undo`: the longest undo period Gmail offers, 30 s instead of 10 s (the rep's setting; see Undo Send below);
//   `opaque-chips`: recipient chips that carry their address in no attribute the extension knows (a future change:
//   only Gmail's send request still names it). Each still shows the contact's name, as today's chips do (InboxSDK
//   get-recipients.ts reads the name from `data-name` and the address from `data-hovercard-id`, at a8a6fe2 of
//   2026-07-23), and keeps its role, an option of the field's list (InboxSDK page-parser.ts, same commit);
//   `unnamed-fields`: the To field without its `name="to"` (a future change: the chips' list and its input stay);
//   `renamed-plain`: the "Currently in plain text mode." line with new classes (a future change the extension
//   cannot follow before the send);
//   `expand-all`: every message of a conversation open, as after Gmail's "Expand all" (showConversation);
//   `undefined-perm-id`: a conversation's heading carries `data-thread-perm-id="undefined"`, the literal word, beside
//   its real `data-legacy-thread-id`, as Gmail sometimes writes it today: gmail.js #814 (2025-11-09) quotes such a
//   heading from Google Workspace, `<h2 class="hP" data-thread-perm-id="undefined" data-legacy-thread-id="19a3…">`;
//   InboxSDK 1b0ea3b (2025-11-10, "the string value can be 'undefined'") reads it as no id, and 1787941b (2025-11-25)
//   finds the heading by its legacy id since the perm id is "sometimes" missing altogether;
//   `changed-lists`: Gmail's data of its thread lists changed (a future change): the page carries no first list, and
//   the answers to lists hold their threads elsewhere (google.ts; the page tells the server by its request's `sim`).
//   `untitled-account`: a window title that names no account ("Posteingang - Gmail", as the "Hide Email Address from
//   Gmail Title Bar" userscript, greasyfork 38152, leaves it), so that only Gmail's own data (`GLOBALS`, gmail.html)
//   names the rep's address: the simulation has no account switcher either.
// - A compose laid out as compose-dialog-2020-10.html lays one out, for the parts the extension reads: in `div.M9`,
//   `div.aoI > table.aoP > … > td.I5` holds a `form.bAs` (the recipients' `div.fX > table.GS`, the subject in
//   `div.aoD.az6`, the hidden inputs) and, beside it, `table.iN`, whose first row holds the body (`td.GQ > div.GP >
//   div.qz > div.Ar.Au`, fewer levels than the capture) and whose second the plain-text line (`td.HE … div.aDl`) and
//   the toolbar (`div.aDh > table.IZ`): the body is in no `form`. The recipients' inner layout is today's (above).
// - A plain-text send: the body's text in part 0, and `[8][6]` 0 where an HTML send has 1 (gmail.js reads it as
//   `ishtml`, parse_sent_message_payload_new at b7dfdab, 2026-03-25; every captured send, all HTML, has 1; the 0 is
//   assumed, not captured).
// - A reply's or forward's compose in a conversation names its thread twice: `rt` = "#<sync id>", `lts` = its legacy id (InboxSDK
//   gmail-compose-view.ts reads its thread id there since ae41b84 of 2018-04-10, still at a8a6fe2 of 2026-07-23); a
//   new email's are empty (compose-dialog-2020-10.html). The extension reads `rt` only.
// - Delegated mailboxes: a page under `/mail/u/N/d/<id>/` posts to `/sync/u/N/d/<id>/i/s` (gmail.md: Meru, 2025-10).
// - A list is shown once Gmail's server answered it (assumed: no public trace orders Gmail's drawing and its
//   answer): the page posts `/sync/u/N/i/bv` (a delegated mailbox's under `d/<id>/`) by XHR, where InboxSDK reads
//   the threads of every list Gmail shows (setup-gmail-interceptor.ts, a8a6fe2 of 2026-07-23); google.ts answers
//   with the threads and all their messages. The request is InboxSDK's own array form, `[[null, 51, null, <query>]]`
//   to `…/i/bv?rt=r&pt=ji`, which gets the array answer (getSyncThreadsForSearch.ts, same commit); what Gmail itself
//   posts there is not public. The rows are drawn from what the page knows (`/_sim/threads`, the messages
//   received), not from the answer. The page's first list, the inbox's, comes with the page instead (google.ts writes
//   it in through `_GM_setData`, docs/gmail.md): the inbox shown first is drawn without a request.
// - Undo Send (docs/gmail.md, "Undo Send", evidence of 2026-12-02): the send is posted at the click and Gmail's
//   server holds it for the undo period (classic Gmail: gmail.js #201 of 2015-10-29, PR #305 of 2016-09-13). The
//   notice bar `div.b8[role=alert] > div.vh` (InboxSDK gmail-butter-bar-driver.ts, 2023-09-11) says "Sending…", then,
//   once Gmail answered, "Message sent" with `span#link_undo` "Undo" and `span#link_vsm` "View message" (Meru
//   apps/mail.ts, 2026-01..08; nextcloud/mail #5438 describes the two steps) for the undo period: 10 s here (30 s with
//   `long-undo`), among Gmail's choices (5, 10, 20, 30). Undo tells the simulated server to drop the held message, which then is no
//   longer among the sent threads, and reopens it as a draft in a new compose: same recipients, subject and body
//   (nextcloud/mail #5438: "turns it back into a draft and opens the message composer"). Today's undo request is NOT
//   public: it goes to `/_sim/cancel-send`, a made-up address the extension must not (and does not) read. That the
//   reopened body is exactly the HTML sent (our pixel and signed links included) is an assumption (2026-12).
// - Cancel send of a scheduled message: a scheduled message cannot be edited, only its send cancelled (gmail.js pull
//   request 567, 2019-04-24: it "goes into the scheduled label, without the possibility of editing (this is not a
//   draft), user can only cancel sending"), from the message opened in the Scheduled folder, which gives it back as a
//   draft (Gmail's help as guides quote it, e.g. itsourcecode.com's 2026 guide: "Click 'Cancel send' (top of the email
//   view). The email returns to your Drafts folder."). What Gmail posts then, the button's markup and whether Gmail
//   opens the draft at once are NOT public: the button is the simulation's own (`data-sim=cancel-scheduled`, above
//   the message in its opened conversation: the scheduled message shows among the sent ones here), the request goes
//   to `/_sim/cancel-send` as Undo's does, and the draft opens in a compose, as the rep opens it from Drafts to edit
//   it, with its body as scheduled (assumed, as for Undo). The extension reads none of this.
(() => {
  const composes = document.getElementById("composes");
  const main = document.getElementById("main");
  const flags = new Set((new URLSearchParams(location.search).get("sim") ?? "").split(",").filter(Boolean));
  const german = flags.has("de");
  const T = german
    ? {
        send: "Senden",
        sendTip: "Senden \u202a(Strg + Eingabetaste)\u202c",
        sendArchive: "Senden und archivieren",
        more: "Weitere Sendeoptionen",
        schedule: "Senden planen",
        cancelScheduled: "Senden abbrechen",
        tomorrow: "Morgen früh",
        to: "An",
        suggested: "Vorschläge",
        plain: "Nur-Text-Modus",
        plainOn: "Derzeit im Nur-Text-Modus.",
        rich: "Zu Rich-Text wechseln.",
        noRecipient: "Geben Sie mindestens einen Empfänger an.",
        badRecipient: (a) => `Die Adresse "${a}" im Feld "An" wurde nicht erkannt.`,
        reply: "Antworten",
        showTrimmed: "Gekürzten Inhalt anzeigen",
        forward: "Weiterleiten",
        sending: "Wird gesendet…",
        sent: "Nachricht gesendet",
        undo: "Rückgängig machen",
        viewMessage: "Nachricht ansehen",
        // The rep as a row names them: "me" in the classic capture (`span.zF[email][name="me"]`). That German Gmail
        // shows "ich", and in the `name` attribute too, is assumed (the worst case: thread-signals.ts reads "me" as
        // English only); no public capture shows a German row.
        me: "ich",
      }
    : {
        send: "Send",
        sendTip: "Send \u202a(Ctrl-Enter)\u202c",
        sendArchive: "Send & Archive",
        more: "More send options",
        schedule: "Schedule send",
        cancelScheduled: "Cancel send",
        tomorrow: "Tomorrow morning",
        to: "To",
        suggested: "Suggestions",
        plain: "Plain text mode",
        plainOn: "Currently in plain text mode.",
        rich: "Switch to rich text.",
        noRecipient: "Please specify at least one recipient.",
        badRecipient: (a) =>
          `The address "${a}" in the "To" field was not recognized. Please make sure that all addresses are properly formed.`,
        reply: "Reply",
        showTrimmed: "Show trimmed content",
        forward: "Forward",
        sending: "Sending…",
        sent: "Message sent",
        undo: "Undo",
        viewMessage: "View message",
        me: "me",
      };
  // The page's own Trusted Types policy. Created after the extension's document_start script, like Gmail's own.
  const policy = window.trustedTypes?.createPolicy("gmail-sim#html", { createHTML: (html) => html });
  const trusted = (html) => (policy ? policy.createHTML(html) : html);
  /** `element.innerHTML = html`, the Trusted Types way. */
  const setHtml = (element, html) => {
    element.innerHTML = trusted(html);
  };
  if (german) {
    document.documentElement.lang = "de";
    // The title's form in every locale: the view's name, then the account (gmail.html, beside its <title>).
    document.title = "Posteingang - me@example.com - Gmail (simuliert)";
    document.querySelector("[data-sim=compose]").textContent = "Schreiben";
  }
  if (flags.has("untitled-account")) document.title = german ? "Posteingang - Gmail (simuliert)" : "Inbox - Gmail (simulated)";
  /** Which mailbox: `/mail/u/0/` or a delegated `/mail/u/0/d/<id>/`, and where its sends are posted. */
  const mailbox = /^\/mail\/u\/(\d+)\/(?:d\/([A-Za-z0-9_-]+)\/)?/.exec(location.pathname) ?? [null, "0", null];
  const syncPath = mailbox[2] ? `/sync/u/${mailbox[1]}/d/${mailbox[2]}/i/s` : `/sync/u/${mailbox[1]}/i/s`;
  /** Where a list's threads are asked for (a thread list's answer, google.ts). */
  const listPath = syncPath.replace(/\/s$/, "/bv");
  /** legacy thread id -> what was sent, as Gmail's answer described it */
  const sentThreads = new Map();
  let seq = 10;
  const randomDigits = () => String(Math.floor(Math.random() * 9e17) + 1e17);

  function base64url(text) {
    return btoa(unescape(encodeURIComponent(text)))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
  }

  function proxied(url) {
    return `https://ci3.googleusercontent.com/meips/${base64url(url)}=s0-d-e1-ft#${url}`;
  }

  // `renamed-send`: a Gmail that changed its send button beyond recognition (no tooltip, new classes, outside the
  // send cell and with no options arrow next to it), so the extension's selectors miss it while Gmail still sends.
  const renamedSend = flags.has("renamed-send");
  // `button-send`: the send cell's buttons drawn as real `<button>` elements (the header says what is evidence).
  const buttonSend = flags.has("button-send");
  /** One of the send cell's buttons: `div[role=button]`, or with `button-send` a `<button>` with no role. */
  const button = (classes, attributes, label) =>
    buttonSend
      ? `<button type="button" class="${classes}" tabindex="1" ${attributes}>${label}</button>`
      : `<div class="${classes}" role="button" tabindex="1" ${attributes}>${label}</div>`;
  const sendButtonHtml = renamedSend
    ? `<div class="T-I J-J5-Ji zQ2 v7 T-I-atl L3" role="button" tabindex="1" aria-label="Dispatch" data-sim="send">${T.send}</div>`
    : button("T-I J-J5-Ji aoO v7 T-I-atl L3", `data-tooltip="${T.sendTip}" aria-label="${T.sendTip}" data-sim="send"`, T.send);
  // `send-archive`: Send & Archive in a reply's compose (the header says what is evidence and what is assumed).
  const sendArchiveHtml = flags.has("send-archive")
    ? button(
        "T-I J-J5-Ji aoO Uo v7 T-I-atl L3",
        `data-tooltip="${T.sendArchive}" aria-label="${T.sendArchive}" data-sim="send-archive"`,
        `${T.send} ▤`,
      )
    : "";

  /**
   * Builds a compose: a dialog in the bottom bar, a full-screen dialog (`[role=dialog] div.aaZ`), the only compose of
   * a pop-out window (under `div.dw`, no dialog), or inline (replies and forwards) inside `container`. `reply`: an
   * inline reply, which shows Send & Archive when its setting is on.
   */
  function openCompose({
    container = null,
    threadId = null,
    legacyThreadId = null,
    subject = "",
    quotedHtml = "",
    trimmedQuote = "",
    mode = container ? "inline" : "dialog",
    reply = false,
  } = {}) {
    const id = ++seq;
    const shell = document.createElement("div");
    if (mode === "dialog" || mode === "fullscreen") {
      shell.className = mode === "fullscreen" ? "nH Hd aSt" : "nH Hd";
      shell.setAttribute("role", "dialog");
    } else shell.className = mode === "popout" ? "aDh" : "ip iq";
    const wrap = (html) => (mode === "fullscreen" ? `<div class="aaZ">${html}</div>` : html);
    setHtml(
      shell,
      wrap(`
      <div class="M9"><div class="aoI" role="region"><table class="aoP aoC"><tbody><tr><td class="I5">
        <form class="bAs">
        <div class="fX aXjCH"><table class="GS"><tbody><tr class="bzf"><td class="eV"><div><div>
          <div class="anm"${flags.has("unnamed-fields") ? "" : ' name="to"'}><div><div><div><div>
            <div role="listbox" aria-label="${T.to}" data-sim="to-list"><input class="agP aFw" role="combobox" aria-autocomplete="list" peoplekit-id="sim" aria-label="${T.to}" data-sim="to"></div>
          </div></div></div></div></div>
          <div role="listbox" aria-label="${T.suggested}" data-sim="suggestions" hidden><div role="option" data-hovercard-id="pat@suggested.example" data-name="Pat">Pat</div></div>
        </div></div></td></tr></tbody></table></div>
        <div class="aoD az6"><div><input name="subjectbox" class="aoT" placeholder="Subject" aria-label="Subject"></div></div>
        <input type="hidden" name="composeid" value="${id}">
        <input type="hidden" name="draft" value="#msg-a:r-${randomDigits()}">
        <input type="hidden" name="rt" value="${threadId ? `#${threadId}` : ""}">
        <input type="hidden" name="lts" value="${legacyThreadId ?? ""}">
        </form>
        <table class="iN"><tbody><tr><td class="GQ"><div class="GP"><div class="qz aXjCH"><div class="Ar Au">
          <div class="Am aiL Al editable LW-avf tS-tW" contenteditable="true" g_editable="true" role="textbox" aria-label="Message Body" aria-multiline="true"></div>
        </div></div></div></td></tr>
        <tr><td class="HE"><div class="aDg"><div class="aDj">
        <div class="aDl">${
          flags.has("renamed-plain")
            ? `<div class="J-Z kP4" style="display:none" data-sim="plain-marker"><span>${T.plainOn}</span> <span class="q7w" role="link">${T.rich}</span></div>`
            : `<div class="J-Z aA3" style="display:none" data-sim="plain-marker"><span>${T.plainOn}</span> <span class="aA5" role="link">${T.rich}</span></div>`
        }</div>
        <div class="aDh"><table class="IZ" role="group"><tbody><tr class="btC">
          ${
            renamedSend
              ? `<td class="zQ3">${sendButtonHtml}</td>`
              : `<td class="gU Up"><div class="J-J5-Ji btA"><div class="J-J5-Ji">${reply ? sendArchiveHtml : ""}</div><div class="dC">
            ${sendButtonHtml}
            ${button("T-I J-J5-Ji hG T-I-atl L3", `aria-haspopup="true" data-tooltip="${T.more}" aria-label="${T.more}" data-sim="send-options"`, "▾")}
            <div role="menu" hidden data-sim="send-menu"><div role="menuitem" data-sim="schedule">${T.schedule}</div></div>
          </div><div class="J-J5-Ji"></div></div></td>`
          }
          <td class="gU az5"><div role="button" tabindex="1" data-tooltip="More options" aria-label="More options" data-sim="more">⋮</div>
            <div role="menu" hidden data-sim="more-menu"><div role="menuitemcheckbox" aria-checked="false" data-sim="plain">${T.plain}</div></div></td>
          <td class="gU a0z"><div role="button" tabindex="1" data-tooltip="Discard draft \u202a(Ctrl-Shift-D)\u202c" data-sim="discard">🗑</div></td>
        </tr></tbody></table></div>
        </div></div></td></tr></tbody></table>
      </td></tr></tbody></table></div></div>`),
    );
    // The simulation's own guard: nothing here submits the form, which would load another page.
    shell.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
    const root = shell.querySelector(".M9");
    const body = shell.querySelector("[g_editable]");
    shell.querySelector("input[name=subjectbox]").value = subject;
    setHtml(body, quotedHtml ? `<div dir="ltr"><br></div>${quotePart(quotedHtml)}` : trimmedQuote ? `<div dir="ltr"><br></div>` : "");
    // A reply's quote is sent as a part of its own until the rep shows it (the header: "Reply like Gmail").
    const state = { shell, root, body, threadId, legacyThreadId, trimmedQuote: trimmedQuote ? quotePart(trimmedQuote) : null };
    if (trimmedQuote) {
      const show = document.createElement("div");
      show.setAttribute("role", "button");
      show.setAttribute("tabindex", "0");
      show.setAttribute("aria-label", T.showTrimmed);
      show.dataset.sim = "show-trimmed";
      show.textContent = "•••";
      show.addEventListener("click", () => {
        body.insertAdjacentHTML("beforeend", trusted(state.trimmedQuote));
        state.trimmedQuote = null;
        show.remove();
      });
      body.after(show);
    }

    // Typing an address then Enter or comma makes a chip, like today's Gmail: role=option, the address in
    // data-hovercard-id, the name in data-name (here the address's local part), no [email] attribute. Once the field
    // holds someone, Gmail suggests a person to add beside it (see the header).
    const to = shell.querySelector("[data-sim=to]");
    const addChip = (address) => {
      const wrap = document.createElement("div");
      wrap.dataset.sim = "chip";
      const chip = wrap.appendChild(document.createElement("div")).appendChild(document.createElement("div"));
      chip.className = "afV";
      chip.setAttribute("role", "option");
      const name = address.split("@")[0];
      if (flags.has("opaque-chips")) chip.setAttribute("data-sim-address", address);
      else {
        chip.setAttribute("data-hovercard-id", address);
        chip.setAttribute("data-name", name);
      }
      setHtml(
        chip,
        `<span class="afX">${escapeHtml(flags.has("opaque-chips") ? name : address)}</span><div role="button" class="afW" data-sim="remove-chip">×</div>`,
      );
      to.before(wrap);
      showSuggestions();
    };
    const suggestions = shell.querySelector("[data-sim=suggestions]");
    const showSuggestions = () => {
      suggestions.hidden = !shell.querySelector("[data-sim=chip]");
    };
    to.addEventListener("keydown", (event) => {
      if ((event.key === "Enter" || event.key === ",") && !event.ctrlKey && !event.metaKey && to.value.trim()) {
        event.preventDefault();
        addChip(to.value.trim().replace(/,$/, ""));
        to.value = "";
      }
    });
    shell.addEventListener("click", (event) => {
      const remove = event.target.closest("[data-sim=remove-chip]");
      if (remove) {
        remove.closest("[data-sim=chip]").remove();
        showSuggestions();
      }
    });

    // Enter or Space on a `div[role=button]` is Gmail's own doing; a `<button>` turns them into a click itself.
    const onPress = (element, act) => {
      element?.addEventListener("click", act);
      if (element?.tagName === "DIV")
        element.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") act();
        });
    };
    onPress(shell.querySelector("[data-sim=send]"), () => trySend(state));
    // Send & Archive: the same send, then the conversation is archived.
    onPress(shell.querySelector("[data-sim=send-archive]"), () => trySend(state, null, true));
    shell.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) trySend(state);
    });
    const menu = shell.querySelector("[data-sim=more-menu]");
    shell.querySelector("[data-sim=more]").addEventListener("click", () => {
      menu.hidden = !menu.hidden;
    });
    // Plain-text mode: the menu item's check, and the hidden "Currently in plain text mode." line of the 2020
    // capture (div.aA3) shown.
    const plain = shell.querySelector("[data-sim=plain]");
    plain.addEventListener("click", () => {
      const on = plain.getAttribute("aria-checked") !== "true";
      plain.setAttribute("aria-checked", String(on));
      shell.querySelector("[data-sim=plain-marker]").style.display = on ? "" : "none";
      menu.hidden = true;
    });
    const sendMenu = shell.querySelector("[data-sim=send-menu]");
    shell.querySelector("[data-sim=send-options]")?.addEventListener("click", () => {
      sendMenu.hidden = !sendMenu.hidden;
    });
    shell.querySelector("[data-sim=schedule]")?.addEventListener("click", () => {
      sendMenu.hidden = true;
      // Gmail's time picker: a dialog of its own, outside the compose.
      const picker = document.createElement("div");
      picker.setAttribute("role", "dialog");
      picker.className = "Kj-JD sim-schedule";
      setHtml(
        picker,
        `<div class="Kj-JD-K7">${T.schedule}</div><div role="menuitem" tabindex="0" data-sim="schedule-tomorrow">${T.tomorrow}</div>`,
      );
      picker.querySelector("[data-sim=schedule-tomorrow]").addEventListener("click", () => {
        picker.remove();
        const tomorrow = new Date();
        tomorrow.setDate(tomorrow.getDate() + 1);
        tomorrow.setHours(8, 0, 0, 0);
        trySend(state, tomorrow.getTime());
      });
      document.body.appendChild(picker);
    });
    shell.querySelector("[data-sim=discard]").addEventListener("click", () => shell.remove());

    (container ?? composes).appendChild(shell);
    state.addChip = addChip;
    return state;
  }

  /** Gmail's notice bar (InboxSDK gmail-butter-bar-driver.ts): one notice at a time, the latest replacing the last. */
  let noticeTimer;
  function showNotice(text, links = []) {
    let bar = document.querySelector("div.b8[role=alert]");
    if (!bar) {
      bar = document.createElement("div");
      bar.className = "b8";
      bar.setAttribute("role", "alert");
      setHtml(bar, `<div class="vh"></div>`);
      document.body.appendChild(bar);
    }
    const notice = bar.querySelector(".vh");
    setHtml(notice, `<span class="aT"><span class="bAq"></span><span class="bAo"></span></span>`);
    notice.querySelector(".bAq").textContent = text;
    for (const { id, label, act } of links) {
      const link = document.createElement("span");
      link.id = id;
      link.setAttribute("role", "link");
      link.tabIndex = 0;
      link.textContent = label;
      link.addEventListener("click", act);
      // Enter on the focused link acts too (assumed: a role=link Gmail makes focusable; no capture shows it).
      link.addEventListener("keydown", (event) => {
        if (event.key === "Enter") act();
      });
      notice.querySelector(".bAo").append(link);
    }
    clearTimeout(noticeTimer);
  }
  function hideNotice() {
    document.querySelector("div.b8[role=alert] .vh")?.replaceChildren();
  }
  /**
   * How long the "Message sent" notice offers Undo: one of Gmail's choices, 5, 10, 20 or 30 s
   * (support.google.com/mail/answer/2819488, as docs/gmail.md quotes it under "Undo Send").
   */
  const UNDO_PERIOD_MS = flags.has("long-undo") ? 30_000 : 10_000;

  /** "Message sent", Undo and View message, for the undo period; Undo takes the held message back into a compose. */
  function showSentNotice(sent) {
    const ids = flags.has("renamed-undo") ? { undo: "lnk_undo", view: "lnk_vsm" } : { undo: "link_undo", view: "link_vsm" };
    showNotice(T.sent, [
      { id: ids.undo, label: T.undo, act: () => undoSend(sent) },
      {
        id: ids.view,
        label: T.viewMessage,
        act: () => {
          hideNotice();
          location.hash = `#sent/${sent.legacyThreadId}`;
        },
      },
    ]);
    noticeTimer = setTimeout(hideNotice, UNDO_PERIOD_MS);
  }

  function undoSend(sent) {
    hideNotice();
    // `undo-unfollowed`: an Undo Gmail does not follow with the reopened email, the one the extension tells of after
    // 10 s (compose-tracking.ts REOPEN_WAIT_MS). When Gmail does that is NOT public: docs/gmail.md ("Undo Send")
    // assumes an Undo used as the undo period ran out may come too late, and that email did go out. Here the message
    // stays sent, and nothing reopens.
    if (flags.has("undo-unfollowed")) return;
    backAsDraft(sent);
  }

  /** Undo Send, or Cancel send of a scheduled message: the server drops it, and it is back as a draft in a compose. */
  function backAsDraft(sent) {
    // The server drops the held message (where today's Gmail posts this is not public: see the header).
    fetch(`/_sim/cancel-send?messageId=${encodeURIComponent(sent.messageId)}`, { method: "POST" }).catch(() => undefined);
    const thread = sentThreads.get(sent.legacyThreadId);
    if (thread) {
      thread.messages = thread.messages.filter((m) => m.messageId !== sent.messageId);
      if (thread.messages.length === 0) sentThreads.delete(sent.legacyThreadId);
    }
    route();
    // Back as a draft, in a compose in the bottom bar (where Gmail reopens an undone inline reply is not known).
    const draft = openCompose({ threadId: sent.threadId, subject: sent.subject });
    for (const chip of sent.chips) draft.addChip(chip.email);
    if (sent.plainText) draft.body.textContent = sent.content;
    else setHtml(draft.body, sent.content);
  }

  function showAlert(text) {
    const alert = document.createElement("div");
    alert.className = "Kj-JD";
    alert.setAttribute("role", "alertdialog");
    setHtml(alert, `<div class="Kj-JD-K7">Error</div><div class="Kj-JD-Jz"></div><button name="ok" data-sim="alert-ok">OK</button>`);
    alert.querySelector(".Kj-JD-Jz").textContent = text;
    alert.querySelector("button").addEventListener("click", () => alert.remove());
    document.body.appendChild(alert);
  }

  /** A send, or with `scheduledAt` (epoch ms) a scheduled send; `archive`: Send & Archive's. */
  function trySend(state, scheduledAt = null, archive = false) {
    if (!state.shell.isConnected) return;
    const chips = [...state.root.querySelectorAll("[data-sim=chip] [role=option]")].map((chip) => ({
      email: chip.getAttribute("data-hovercard-id") ?? chip.getAttribute("data-sim-address"),
      name: chip.getAttribute("data-name") ?? chip.getAttribute("data-sim-address").split("@")[0],
    }));
    const bad = chips.find((chip) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(chip.email));
    if (chips.length === 0 || bad) {
      showAlert(bad ? T.badRecipient(bad.email) : T.noRecipient);
      return;
    }
    const plainText = state.root.querySelector("[data-sim=plain]").getAttribute("aria-checked") === "true";
    // Read synchronously, like Gmail, at the moment of the send.
    const content = plainText ? state.body.innerText : state.body.innerHTML;
    const subject = state.root.querySelector("input[name=subjectbox]").value;
    const threadId = state.threadId ?? `thread-a:r${randomDigits()}`;
    // The draft's id is the sent message's (2022-09-09-cvOnSend_4_request.json saves msg-a:r8190137112111191537 as a
    // draft, cvOnSend_request.json sends it).
    const messageId = state.root.querySelector("input[name=draft]").value.replace(/^#/, "") || `msg-a:r${randomDigits()}`;
    const now = Date.now();
    const message = [
      messageId,
      [1, "me@example.com", "Me", null, null, null, null, null, null, "me@example.com"],
      chips.map((chip) => [1, chip.email, chip.name]),
      null,
      null,
      null,
      scheduledAt ?? now,
      subject,
      [null, [[0, content], ...(state.trimmedQuote ? [[2, state.trimmedQuote]] : [])], null, null, null, null, plainText ? 0 : 1],
      null,
      ["^all", scheduledAt ? "^scheduled" : "^pfg", "^f_bt", "^f_btns", "^f_cl", "^i", "^u"],
    ];
    const threadData = [null, null, null, null, null, null, null, null, null, null, null, null, null, [[message, null, 1]]];
    const request = [[null, null, 2], [[[seq++, [threadId, threadData]]]], null, [now, 1, now, 1, 205], 2];
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${syncPath}?hl=${german ? "de" : "en"}&c=${seq}&rt=r&pt=ji`);
    xhr.setRequestHeader("Content-Type", "application/json");
    if (!scheduledAt) showNotice(T.sending);
    xhr.addEventListener("load", () => {
      if (xhr.status !== 200) return;
      const response = JSON.parse(xhr.responseText);
      for (const wrapper of response[1][5]) {
        const thread = wrapper[0];
        const inner = thread[2][6][0];
        const sentMessage = inner[4].find((m) => m[0] === messageId);
        if (!sentMessage) continue;
        const existing = sentThreads.get(inner[19]);
        const entry = { html: content + (state.trimmedQuote ?? ""), plainText, legacyMessageId: sentMessage[55], messageId, at: now };
        // A scheduled message keeps what Cancel send gives back as a draft (showConversation).
        if (scheduledAt)
          entry.scheduled = { messageId, legacyThreadId: inner[19], threadId: state.threadId, subject, chips, content, plainText };
        // A conversation keeps the subject of its first message, as Gmail shows it.
        sentThreads.set(inner[19], {
          threadId: thread[0],
          subject: existing?.subject ?? subject,
          recipients: chips.map((chip) => chip.email),
          messages: [...(existing?.messages ?? []), entry],
        });
        document.documentElement.dataset.simLastSentThread = inner[19];
        document.documentElement.dataset.simSentCount = String(Number(document.documentElement.dataset.simSentCount ?? 0) + 1);
        if (!scheduledAt)
          showSentNotice({
            messageId,
            legacyThreadId: inner[19],
            // What the compose held, to reopen it on Undo (an existing thread's id only: a new one was made up here).
            threadId: state.threadId,
            subject,
            chips,
            content,
            plainText,
          });
      }
    });
    xhr.send(JSON.stringify(request));
    // Gmail closes the compose as soon as the send starts.
    state.shell.remove();
    if (archive && state.legacyThreadId) archiveConversation(state.legacyThreadId);
  }

  /** Legacy ids of the conversations archived (Send & Archive): out of the inbox until someone writes in them again. */
  const archived = new Set();

  /** Send & Archive's archive: the server is told (a made-up address: see the header), and the list is shown again. */
  function archiveConversation(legacyThreadId) {
    archived.add(legacyThreadId);
    fetch(`/_sim/archive?thread=${encodeURIComponent(legacyThreadId)}`, { method: "POST" }).catch(() => undefined);
    location.hash = location.hash.startsWith("#sent/") ? "#sent" : "#inbox";
  }

  /**
   * A message as Gmail's server hands it to the page: every image rewritten through Google's image proxy. Google does
   * this on its servers, before the page's own code (or the extension) sees the HTML, so it is plain string work here
   * (attribute values as innerHTML serialises them: double-quoted, `&` as `&amp;`), not a render through the page.
   */
  function displayedHtml(message) {
    if (message.plainText) return message.html.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
    return message.html.replace(/(<img\b[^>]*?\ssrc=")([^"]*)(")/gi, (_, before, src, after) => {
      const url = src.replaceAll("&amp;", "&");
      return `${before}${proxied(url).replaceAll("&", "&amp;").replaceAll('"', "&quot;")}${after}`;
    });
  }

  /**
   * The links of a message as Gmail shows them in a conversation: each http(s) link keeps its href, opens in a new tab
   * and carries Google's redirect in `data-saferedirecturl`,
   * `https://www.google.com/url?hl=en&q=<original>&source=gmail&ust=<a day on, in µs>&usg=<Google's signature>`, the
   * original's `%`, `&`, `=` and `+` percent-encoded; a mailto: link only the new tab (InboxSDK's captures
   * __tests__/gmail-response-processor/extract-message-response-2.txt, 2018-02, and
   * __tests__/gmail-sync-response-processor/thread-response-2018-03-14.json). Google writes them on its servers, like
   * the image proxy's URLs. The signature here is made up. Whether a quote in a reply keeps them no capture shows: the
   * quote is made from the message without them.
   */
  function shownLinks(html) {
    const ust = (Date.now() + 86_400_000) * 1000;
    return html.replace(/<a\b([^>]*?)\shref="([^"]*)"([^>]*)>/gi, (tag, before, href, after) => {
      const target = /\starget=/i.test(tag) ? "" : ' target="_blank"';
      if (!/^https?:/i.test(href)) return `<a${before} href="${href}"${after}${target}>`;
      const q = href.replaceAll("&amp;", "&").replace(/[%&=+]/g, encodeURIComponent);
      const redirect = `https://www.google.com/url?hl=en&amp;q=${q}&amp;source=gmail&amp;ust=${ust}&amp;usg=AOvVaw0simulatedSignature`;
      return `<a${before} href="${href}"${after}${target} data-saferedirecturl="${redirect}">`;
    });
  }

  /**
   * Gmail's quote of an email in a reply, from its own copy of it (proxied image URLs), not from what is on screen:
   * `blockquote.gmail_quote` after its attribution line, and, as what follows what was written, inside
   * `div.gmail_quote` (the quoted part of every 2022-09-09-cvOnReplySend capture).
   */
  function gmailQuote(message) {
    return `<div class="gmail_attr">On Mon, Me &lt;me@example.com&gt; wrote:</div><blockquote class="gmail_quote">${displayedHtml(message)}</blockquote>`;
  }
  function quotePart(quote) {
    return `<br><div class="gmail_quote">${quote}</div>`;
  }

  /**
   * The conversation view of a sent thread: `#sent/<legacy thread id>` (or `#all/…`).
   * Its messages are items of one list, each open (`div.h7`, the message with its id and body) or collapsed (`div.kv`,
   * its header alone); InboxSDK takes the open message's parent as the list and tells the two apart by these classes
   * (gmail-thread-view.ts #setupMessageViewStream, gmail-message-view.ts getViewState, a8a6fe2 of 2026-07-23). Gmail
   * collapses the messages already read and opens the unread ones and the newest: "Messages that you previously read
   * are collapsed (unless they have a star), and new messages are expanded" (uwf.edu helpdesk, "Conversations",
   * undated); the rep's own are read from the start. A collapsed message shows its sender, date and a snippet; that it
   * carries no message id is assumed from InboxSDK reading a message's id only once it is open (#checkMessageOpenState)
   * and its sender where InboxSDK reads it in any state (getSender, `td.gF span[email]`). Assumed too: the list's and
   * its items' roles (`list`, `listitem`), and a snippet of 100 characters. Clicking a collapsed message opens it; the
   * variant `expand-all` opens all, as Gmail's "Expand all" does (same page).
   */
  function showConversation(legacyThreadId) {
    const thread = sentThreads.get(legacyThreadId);
    main.replaceChildren();
    if (!thread) {
      main.textContent = "Conversation not found";
      return;
    }
    const view = document.createElement("div");
    view.className = "nH";
    const last = thread.messages.length - 1;
    const open = (m, i) => i === last || !isRead(m) || expandAll || thread.opened?.has(m.legacyMessageId);
    const sender = (m) =>
      `<span email="${escapeHtml(m.from ?? "me@example.com")}" name="${escapeHtml(m.name ?? "Me")}" class="gD">${escapeHtml(m.name ?? "Me")}</span>`;
    const date = (m) =>
      `<span class="g3" title="${gmailDate(m.at)}" alt="${gmailDate(m.at)}">${new Date(m.at).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" })}</span>`;
    // Each open message's header names its sender (`h3.iw span.gD[email][name]`) and its date to the minute (`span.g3[title]`).
    const messagesHtml = thread.messages
      .map((m, i) =>
        open(m, i)
          ? `<div class="h7" role="listitem"><div class="adn ads" data-message-id="#${m.messageId}" data-legacy-message-id="${m.legacyMessageId}"><div class="gs"><div class="gE iv gt"><table><tbody><tr>
            <td class="gF gK"><h3 class="iw"><span class="qu">${sender(m)}</span></h3></td>
            <td class="gH">${date(m)}</td>
          </tr></tbody></table></div><div class="ii gt"><div class="a3s aiL">${shownLinks(displayedHtml(m))}</div></div></div></div></div>`
          : `<div class="kv" role="listitem" data-sim-open-message="${m.legacyMessageId}"><div class="adf ads"><table><tbody><tr>
            <td class="gF gK">${sender(m)}</td><td class="gH">${date(m)}</td>
          </tr></tbody></table><div class="iA g6">${escapeHtml(snippetOf(m))}</div></div></div>`,
      )
      .join("");
    for (const m of thread.messages) m.read = true;
    // Built off-document: the images of the bodies start loading here, before the view is in the page.
    setHtml(
      view,
      `<h2 class="hP" data-thread-perm-id="${flags.has("undefined-perm-id") ? "undefined" : thread.threadId}" data-legacy-thread-id="${legacyThreadId}"></h2><div role="list">${messagesHtml}</div>
      <div class="amn"><span role="link" class="ams bkH" data-sim="reply">${T.reply}</span><span role="link" class="ams bkG" data-sim="forward">${T.forward}</span></div>`,
    );
    view.querySelector("h2").textContent = thread.subject;
    // A scheduled message, not sent yet: Cancel send above it (see the header, Cancel send).
    const scheduled = thread.messages[last]?.scheduled;
    if (scheduled) {
      const cancel = document.createElement("div");
      cancel.setAttribute("role", "button");
      cancel.dataset.sim = "cancel-scheduled";
      cancel.textContent = T.cancelScheduled;
      cancel.addEventListener("click", () => backAsDraft(scheduled));
      view.prepend(cancel);
    }
    for (const collapsed of view.querySelectorAll("[data-sim-open-message]")) {
      collapsed.addEventListener("click", () => {
        thread.opened = new Set([...(thread.opened ?? []), collapsed.dataset.simOpenMessage]);
        showConversation(legacyThreadId);
      });
    }
    view.querySelector("[data-sim=reply]").addEventListener("click", () => {
      const last = thread.messages[thread.messages.length - 1];
      openCompose({
        container: view,
        threadId: thread.threadId,
        legacyThreadId,
        subject: `Re: ${thread.subject}`,
        trimmedQuote: gmailQuote(last),
        reply: true,
      });
    });
    view.querySelector("[data-sim=forward]").addEventListener("click", () => {
      const last = thread.messages[thread.messages.length - 1];
      const quoted = `<div class="gmail_attr">---------- Forwarded message ---------<br>From: Me &lt;me@example.com&gt;<br>Subject: ${escapeHtml(thread.subject)}</div><br>${displayedHtml(last)}`;
      openCompose({ container: view, threadId: thread.threadId, legacyThreadId, subject: `Fwd: ${thread.subject}`, quotedHtml: quoted });
    });
    // One insertion, a frame later, like Gmail rendering a conversation (a timer, not requestAnimationFrame, which
    // never fires in a background tab: Gmail's view does get attached there).
    const token = ++renderToken;
    setTimeout(() => {
      if (token === renderToken) main.appendChild(view);
    }, 16);
  }
  let renderToken = 0;
  const expandAll = flags.has("expand-all");
  /** The rep's own messages are read; one from someone else once a conversation view has shown it. */
  const isRead = (m) => m.read || !m.from || m.from === "me@example.com";
  /** The start of a message's text, as a collapsed message shows it. */
  function snippetOf(m) {
    // Tags taken out as text, not parsed: parsing is a Trusted Types sink, and the extension's guard watches it.
    const text =
      m.text ??
      m.html
        .replace(/<[^>]*>/g, " ")
        .replaceAll("&nbsp;", " ")
        .replaceAll("&amp;", "&");
    return text.replace(/\s+/g, " ").trim().slice(0, 100);
  }

  /**
   * The Sent list, `#sent`: one row per sent thread, newest first, as gmail.md describes today's rows
   * (`tr.zA[role=row]`, the subject in `.bog` on a span carrying `data-thread-id`, `data-legacy-thread-id` and
   * `data-legacy-last-message-id` (with `decimal-rows`, `data-thread-id` alone); recipients `div.yW [email]`,
   * date `td.xW > span[title]`). Gmail re-renders rows in place now and then; the event `sim:rerender-sent` does the
   * same here (fresh row nodes, same content).
   * People and count as a real row of 2019-12-26 draws them (Russian UI, thread 16f438e906b36dac, quoted in a public
   * Selenium page object; gmail-selectors.ts rowParticipants): each person wrapped, `div.yW > span.bA4 > span.yP`, the
   * count a bare number, `<span class="bx0">5</span>`, and `data-legacy-last-non-draft-message-id` beside
   * `data-legacy-last-message-id`. `data-thread-id` is the thread's sync id as Gmail's send answer names it (InboxSDK
   * keeps a row's `data-thread-id` as its sync thread id, gmail-thread-row-view.ts, a8a6fe2): "thread-f:<decimal>",
   * the legacy id's number, for a thread someone else started (gmail.md), and "thread-a:r…" for one the rep started,
   * which 2022-09-09-cvOnSend_response.json pairs with an unrelated legacy id (thread-a:r263523620390330024,
   * 183234ce86ffa010). That row is an Inbox row: where a Sent row puts its "To:" among the wrapped
   * recipients no public capture shows (2026-12); here it is text in `div.yW` before the first `span.bA4`.
   * The inbox, `#inbox`, lists in the same rows the sent threads someone else wrote in (the simulation has no other
   * mail).
   */
  function showList(hash) {
    const threads = [...sentThreads.entries()].filter(
      ([legacy, thread]) => hash === "#sent" || (thread.messages.some((m) => m.from) && !archived.has(legacy)),
    );
    const rows = threads.reverse().map(([legacy, thread]) => {
      const last = thread.messages[thread.messages.length - 1];
      const person = (email, name) =>
        `<span class="bA4"><span class="yP" email="${escapeHtml(email)}" name="${escapeHtml(name)}">${escapeHtml(name)}</span></span>`;
      const to = thread.recipients.map((email) => person(email, email.split("@")[0])).join(", ");
      // Once someone else wrote in the thread, Gmail lists its senders instead ("me, Carol 2"), latest last, and
      // the snippet is the start of the latest message.
      const senders = [];
      for (const m of thread.messages) {
        const sender = m.from ? [m.from, m.name] : ["me@example.com", T.me];
        if (senders.at(-1)?.[0] !== sender[0]) senders.push(sender);
      }
      const received = thread.messages.some((m) => m.from);
      const people = received
        ? `${senders.map(([email, name]) => person(email, name)).join(", ")} <span class="bx0">${thread.messages.length}</span>`
        : `${T.to}: ${to}`;
      const snippet = last.from ? `<span class="y2"> - ${escapeHtml(last.text)}</span>` : "";
      // The cells around the people and the subject are the capture's (thread-list-classic-2014-12.html; public code
      // that drives Gmail still names them, docs/benchmarks.md, nineteenth pass): checkbox, star, importance, attachment.
      return `<tr class="zA yO" tabindex="-1" role="row" data-sim-thread="${legacy}">
        <td class="PF xY PE"></td>
        <td class="oZ-x3 xY aid"><div class="oZ-jc T-Jo J-J5-Ji" role="checkbox" dir="ltr" aria-checked="false" tabindex="-1"><div class="T-Jo-auh"></div></div></td>
        <td class="apU xY"><span class="aXw T-KT" title="Not starred" aria-label="Not starred"><img class="T-KT-JX" src="images/cleardot.gif" alt="Not starred"></span></td>
        <td class="WA xY"><div class="pG" data-tooltip-contained="true" data-tooltip-align="b,l" data-tooltip-delay="1500" aria-label="Not important" role="img"><div class="T-ays-a45">Not important<br><span class="aol">Click to teach Gmail this conversation is important.</span></div><div class="pH"></div><div class="UW"></div></div></td>
        <td class="yX xY"><div class="afn">${received ? "" : `${T.to}: ${escapeHtml(thread.recipients.join(", "))}`}</div><div class="yW">${people}</div></td>
        <td class="xY a4W"><div class="xS" role="link"><div class="xT"><div class="y6"><span class="bog"><span data-thread-id="#${thread.threadId}"${decimalRows ? "" : ` data-legacy-thread-id="${legacy}" data-legacy-last-message-id="${last.legacyMessageId}" data-legacy-last-non-draft-message-id="${last.legacyMessageId}"`}>${escapeHtml(thread.subject)}</span></span>${snippet}</div></div></div></td>
        <td class="yf xY">&nbsp;</td>
        <td class="sim-open"><a data-sim-open="${legacy}" href="${location.pathname}${location.search}#sent/${legacy}" target="_blank">↗</a></td>
        <td class="xW xY"><span title="${gmailDate(last.at)}">${new Date(last.at).toLocaleTimeString(german ? "de-DE" : "en-US", { hour: "numeric", minute: "2-digit" })}</span></td></tr>`;
    });
    setHtml(
      main,
      `<div class="ae4 UI" data-sim="${hash === "#sent" ? "sent-list" : "inbox-list"}"><table cellpadding="0" class="F cf zt"><colgroup><col class="k0vOLb"><col class="Ci"><col class="y5"><col class="WA"><col class="yY"><col class="null"><col class="yg"><col class="sim-open"><col class="xX"></colgroup><tbody>${rows.join("")}</tbody></table></div>`,
    );
  }
  const decimalRows = flags.has("decimal-rows");

  /** The page carries its first list, the inbox's (google.ts writes it in, as Gmail does: docs/gmail.md). */
  let firstView = true;

  function route() {
    // `#all/<id>` is where the extension's notifications open a thread.
    const match = /^#(?:sent|all)\/([0-9a-f]+)$/.exec(location.hash);
    if (match) showConversation(match[1]);
    else if (location.hash === "#sent" || location.hash === "#inbox") showListAnswered(location.hash);
    else main.replaceChildren();
    firstView = false;
  }

  /**
   * A list, once Gmail's server answered the request for its threads (whatever it answered); the inbox shown as the
   * page's first view is drawn from what came with the page, without a request (assumed: whether Gmail also asks for
   * that list is not public; this is the case where only the page's own data names its threads).
   */
  function showListAnswered(hash) {
    const draw = () => {
      if (location.hash === hash) showList(hash);
    };
    if (firstView && hash === "#inbox") return draw();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${listPath}?rt=r&pt=ji${flags.has("changed-lists") ? "&sim=changed-lists" : ""}`);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.addEventListener("loadend", draw);
    xhr.send(JSON.stringify([[null, 51, null, hash === "#sent" ? "in:sent" : "in:inbox"]]));
  }
  document.addEventListener("sim:rerender-sent", () => {
    if (location.hash === "#sent") showList("#sent");
  });

  /**
   * Gmail's full date in a message header's title, to the minute, in the UI's language: "Sun, Nov 22, 2026, 7:56 PM".
   * Localised like the Russian row of 2019-12-26 (docs/gmail.md: "чт, 26 дек. 2019 г., 22:54"); the German wording
   * is Intl's ("So., 22. Nov. 2026, 19:56"), assumed to be Gmail's: no German capture is public.
   */
  function gmailDate(at) {
    const options = { weekday: "short", month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" };
    return new Date(at ?? Date.now()).toLocaleString(german ? "de-DE" : "en-US", options);
  }

  // A message arriving from someone else in a sent thread (a reply, or a "Mail Delivery Subsystem" notice):
  // `sim:receive` with detail JSON {thread: <legacy thread id>, from, name, text, quote?}. Its ids are Gmail's server
  // ids, "msg-f:<decimal>" and the same number in hex as the legacy id, minted as google.ts gmailServerId mints them
  // (the time of receipt, shifted left by 20 bits). The view on screen re-renders, like Gmail.
  // With `quote`, the reply quotes the thread's first email as a Gmail reader's reply does (gmailQuote), its images
  // already through the reader's Google proxy; the sender's Gmail then shows them through the proxy again (assumed).
  document.addEventListener("sim:receive", (event) => {
    const { thread, from, name, text, quote } = JSON.parse(event.detail);
    const entry = sentThreads.get(thread);
    if (!entry) return;
    archived.delete(thread);
    const at = Date.now();
    const decimal = (BigInt(at) << 20n) | BigInt(Math.floor(Math.random() * 2 ** 20));
    let html = escapeHtml(text).replaceAll("\n", "<br>");
    if (quote) html += quotePart(gmailQuote(entry.messages[0]));
    entry.messages.push({
      html,
      plainText: false,
      text,
      from,
      name,
      at,
      messageId: `msg-f:${decimal}`,
      legacyMessageId: decimal.toString(16),
    });
    // Gmail's server has it before any view shows it. `window.simReceived` settles once the view on screen was drawn
    // again with it: a test that goes to another view before then would see that one emptied and drawn again.
    window.simReceived = fetch("/_sim/receive", {
      method: "POST",
      body: JSON.stringify({ thread, id: decimal.toString(16), from, name, at, text }),
    })
      .catch(() => undefined)
      .finally(route)
      .then(() => null);
  });

  function escapeHtml(text) {
    return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  }

  // Shift+click on Compose opens it full screen.
  document
    .querySelector("[data-sim=compose]")
    .addEventListener("click", (event) => openCompose({ mode: event.shiftKey ? "fullscreen" : "dialog" }));
  window.addEventListener("hashchange", route);
  // A pop-out window (`?view=cm`) holds one compose and nothing else; it closes itself once the send starts.
  if (new URLSearchParams(location.search).get("view") === "cm") openCompose({ mode: "popout" });
  else {
    // Gmail loads the mailbox from its server: threads sent from another tab are shown here too.
    fetch("/_sim/threads")
      .then((response) => response.json())
      .then((threads) => {
        for (const { legacyThreadId, archived: wasArchived, ...thread } of threads) {
          if (!sentThreads.has(legacyThreadId)) sentThreads.set(legacyThreadId, thread);
          if (wasArchived) archived.add(legacyThreadId);
        }
      })
      .catch(() => undefined)
      .finally(route);
  }
})();
