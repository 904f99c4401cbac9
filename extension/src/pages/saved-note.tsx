// "Saved", shown for a moment after each setting is stored: settings save on change, with no button to press, so
// the rep needs a sign that they did.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

const SHOWN_MS = 2500;

/** The note to render (null when hidden) and the function to call after each save. */
export function useSavedNote(): [JSX.Element | null, () => void] {
  const [count, setCount] = useState(0);
  const [shown, setShown] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    if (count === 0) return;
    setShown(true);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setShown(false), SHOWN_MS);
    return () => clearTimeout(timer.current);
  }, [count]);
  const note = shown ? (
    <p class="saved-note ok" role="status" data-testid="saved" data-count={count}>
      Saved
    </p>
  ) : null;
  return [note, () => setCount((n) => n + 1)];
}
