// For the compose toolbar's tests: a toggle button as plain as the toolbar's (compose-tracking.ts makeToggle),
// without its Gmail-specific event guards.
export function plainToggle(className: string, label: string, onToggle: () => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.className = className;
  button.textContent = label;
  button.addEventListener("click", onToggle);
  return button;
}
