// Mentions in a comment being written: the `@word` at the caret and what it may complete to (agents by key and
// name, members by their handle, the local part of their email, as core reads them).

import { AGENT_NAMES } from "../api/generated/agents";

export interface MentionChoice {
  /** What is written after the @. */
  handle: string;
  /** What the list shows. */
  label: string;
  kind: "agent" | "person";
}

export interface MentionQuery {
  /** Where the @ is. */
  start: number;
  /** What follows it up to the caret, lower case. */
  text: string;
}

/** A member's handle: their email's local part, lower case (core's `handle_of`). */
export function handleOf(email: string): string {
  return email.slice(0, email.lastIndexOf("@")).toLowerCase();
}

/** The `@…` being typed at the caret, if any: an @ at a word's start followed by handle characters. */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const match = /(^|[^\w@.+-])@([\w.+-]*)$/.exec(before);
  if (!match) return null;
  const typed = match[2] ?? "";
  return { start: caret - typed.length - 1, text: typed.toLowerCase() };
}

/** Agents then people whose handle or name starts with the query, at most `limit`. */
export function mentionChoices(query: string, emails: readonly string[], limit = 8): MentionChoice[] {
  const agents = Object.entries(AGENT_NAMES).map(([key, name]) => ({ handle: key, label: `${name} (agent)`, kind: "agent" as const, name }));
  const people = emails.map((email) => ({ handle: handleOf(email), label: email, kind: "person" as const, name: email }));
  const q = query.toLowerCase();
  return [...agents, ...people]
    .filter((choice) => choice.handle.startsWith(q) || choice.name.toLowerCase().startsWith(q))
    .slice(0, limit)
    .map(({ handle, label, kind }) => ({ handle, label, kind }));
}

/** The text with the query replaced by the chosen handle and a space, and where the caret goes. */
export function applyMention(text: string, query: MentionQuery, choice: MentionChoice, caret: number): { text: string; caret: number } {
  const inserted = `@${choice.handle} `;
  return { text: text.slice(0, query.start) + inserted + text.slice(caret), caret: query.start + inserted.length };
}
