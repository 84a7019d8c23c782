// The card's fields that take one of a few values: what each is called and what its values read as. The board
// shows them on every card and the card drawer edits them from this one table. It is keyed by every such field
// of the generated API types, so a new one fails to compile until it is described here.

import type { CardCreate } from "../api/generated/openapi/core";

type Value<K extends keyof CardCreate> = NonNullable<CardCreate[K]>;

/** The fields of a card whose values are a fixed set of strings (not free text). */
export type ChoiceField = {
  [K in keyof CardCreate]-?: Value<K> extends string ? (string extends Value<K> ? never : K) : never;
}[keyof CardCreate];

export interface Choice<K extends ChoiceField> {
  label: string;
  /** Every value, in the order the drawer offers them, with how it reads. */
  names: Record<Value<K>, string>;
  /** The value a card's face leaves unsaid (the default most cards keep). */
  unsaid?: Value<K>;
}

export const CARD_CHOICES: { [K in ChoiceField]: Choice<K> } = {
  card_type: {
    label: "Type",
    names: { epic: "epic", story: "story", task: "task", bug: "bug", spike: "spike" },
    // Most cards are tasks: the board marks the others only.
    unsaid: "task",
  },
  priority: {
    label: "Priority",
    names: { none: "no priority", low: "low", medium: "medium", high: "high", urgent: "urgent" },
    unsaid: "none",
  },
};

export const CHOICE_FIELDS = Object.keys(CARD_CHOICES) as ChoiceField[];

/** What a card's face shows for a field's value: its name, or nothing for the value left unsaid. */
export function choiceTag(field: ChoiceField, value: string): string | null {
  const choice: { names: Record<string, string>; unsaid?: string } = CARD_CHOICES[field];
  if (value === choice.unsaid) return null;
  return choice.names[value] ?? value;
}
