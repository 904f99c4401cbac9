// A button that copies a text (the API token shown once) and says so. The Clipboard API needs a focused page; where
// it refuses, the older copy command (allowed within the click) is tried, and if that fails too, the rep is told.
import { useState } from "preact/hooks";

function copyWithCommand(text: string): boolean {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  try {
    return document.execCommand("copy");
  } finally {
    area.remove();
  }
}

export function CopyButton({ text, name }: { text: string; name: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = () =>
    navigator.clipboard.writeText(text).then(
      () => setState("copied"),
      () => setState(copyWithCommand(text) ? "copied" : "failed"),
    );
  return (
    <>
      <button type="button" name={name} onClick={() => void copy()}>
        Copy
      </button>
      {state === "copied" ? (
        <span class="ok" role="status" data-testid={`${name}-done`}>
          Copied
        </span>
      ) : null}
      {state === "failed" ? (
        <span class="error" role="status">
          The browser refused to copy: select the token and copy it by hand.
        </span>
      ) : null}
    </>
  );
}
