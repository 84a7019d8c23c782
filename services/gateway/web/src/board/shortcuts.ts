// The board's keyboard shortcuts. A shortcut never fires while a person types in a field, and plain keys never
// fire with Ctrl, Cmd or Alt held (those belong to the browser), except the palette's Ctrl/Cmd+K.

export type Shortcut = "search" | "create" | "help" | "palette";

/** Every shortcut, as the help dialog lists them. */
export const SHORTCUTS: readonly { keys: string; what: string }[] = [
  { keys: "/", what: "Search cards" },
  { keys: "c", what: "Create a card (in the focused card's lane, else the first)" },
  { keys: "Ctrl K / ⌘ K", what: "Open the command palette" },
  { keys: "?", what: "Show these shortcuts" },
  { keys: "Enter", what: "Open the focused card" },
  { keys: "Space", what: "Lift the focused card, then arrows to move it and Space to drop it" },
  { keys: "Esc", what: "Close the card, a dialog, or clear the search" },
];

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}

/** Whether the event's target takes typing (a text field, a select, an editable region). */
export function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== "function") return false;
  const element = target as HTMLElement;
  if (element.isContentEditable) return true;
  return element.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']") !== null;
}

/** The shortcut a key press asks for, or null. */
export function shortcutOf(event: KeyLike): Shortcut | null {
  if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") return "palette";
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return null;
  switch (event.key) {
    case "/":
      return "search";
    case "c":
      return "create";
    case "?":
      return "help";
    default:
      return null;
  }
}
