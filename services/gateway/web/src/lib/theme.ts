// Light or dark: the system's preference (prefers-color-scheme) unless the person picked one, which is kept in
// this browser. The choice is applied as `data-theme` on <html>; styles.css holds both palettes.

import { useCallback, useSyncExternalStore } from "react";

export type Theme = "light" | "dark";

const KEY = "aw.theme";
const DARK = "(prefers-color-scheme: dark)";
const listeners = new Set<() => void>();

/** The theme picked in this browser, or null to follow the system. */
export function pickedTheme(storage: Pick<Storage, "getItem"> = localStorage): Theme | null {
  const value = storage.getItem(KEY);
  return value === "light" || value === "dark" ? value : null;
}

function systemTheme(): Theme {
  return window.matchMedia(DARK).matches ? "dark" : "light";
}

/** The theme shown: the one picked, else the system's. */
export function shownTheme(picked: Theme | null, system: Theme): Theme {
  return picked ?? system;
}

/** Sets <html data-theme> to the theme picked (or removes it to follow the system); call before the first render. */
export function applyTheme(picked: Theme | null = pickedTheme()): void {
  if (picked) document.documentElement.dataset.theme = picked;
  else delete document.documentElement.dataset.theme;
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  const media = window.matchMedia(DARK);
  media.addEventListener("change", listener);
  window.addEventListener("storage", listener);
  return () => {
    listeners.delete(listener);
    media.removeEventListener("change", listener);
    window.removeEventListener("storage", listener);
  };
}

function pick(theme: Theme | null) {
  if (theme) localStorage.setItem(KEY, theme);
  else localStorage.removeItem(KEY);
  applyTheme(theme);
  for (const listener of listeners) listener();
}

/** The theme shown, and ways to switch it (kept) or to follow the system again. */
export function useTheme() {
  const picked = useSyncExternalStore(subscribe, () => pickedTheme());
  const system = useSyncExternalStore(subscribe, systemTheme);
  const theme = shownTheme(picked, system);
  const toggle = useCallback(() => pick(theme === "dark" ? "light" : "dark"), [theme]);
  const followSystem = useCallback(() => pick(null), []);
  return { theme, picked, toggle, followSystem };
}
