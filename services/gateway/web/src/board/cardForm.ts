// What the drawer's card form holds, and how it follows the saved card when a run or another person changes it
// while the drawer is open: an untouched form takes the new fields, an edited one keeps the person's edit.

import type { Card } from "../api/types";
import { CHOICE_FIELDS, type ChoiceField } from "./cardChoices";

export type Choices = Record<ChoiceField, string>;

/** The editable fields of a card as the form holds them. */
export interface CardForm {
  title: string;
  description: string;
  choices: Choices;
}

export type FormCard = Pick<Card, "title" | "description" | ChoiceField>;

export function formOf(card: FormCard): CardForm {
  const choices = Object.fromEntries(CHOICE_FIELDS.map((field) => [field, card[field]])) as Choices;
  return { title: card.title, description: card.description, choices };
}

/** The choice fields the form changed from the card. */
export function changedChoices(form: CardForm, card: FormCard): ChoiceField[] {
  return CHOICE_FIELDS.filter((field) => form.choices[field] !== card[field]);
}

export function isDirty(form: CardForm, card: FormCard): boolean {
  return form.title !== card.title || form.description !== card.description || changedChoices(form, card).length > 0;
}

/**
 * The form once the saved card changed from `previous` to `next`: the new fields when the person had not edited
 * (or their edit is what was saved), otherwise their edit kept and `changedUnderEdit` set so the drawer says so.
 */
export function followCard(form: CardForm, previous: FormCard, next: FormCard): { form: CardForm; changedUnderEdit: boolean } {
  if (!isDirty(form, next)) return { form, changedUnderEdit: false };
  if (!isDirty(form, previous)) return { form: formOf(next), changedUnderEdit: false };
  return { form, changedUnderEdit: true };
}
