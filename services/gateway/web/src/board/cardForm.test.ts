import { describe, expect, it } from "vitest";
import { followCard, formOf, isDirty, type FormCard } from "./cardForm";

const saved: FormCard = { title: "Checkout", description: "Old text", card_type: "task", priority: "none" };

describe("followCard", () => {
  it("takes a description a run wrote when the person has not edited the form", () => {
    const next = { ...saved, description: "The agent's new text" };
    const result = followCard(formOf(saved), saved, next);
    expect(result).toEqual({ form: formOf(next), changedUnderEdit: false });
  });

  it("keeps the person's edit and says the card changed under it", () => {
    const editing = { ...formOf(saved), title: "Checkout v2" };
    const next = { ...saved, description: "The agent's new text" };
    const result = followCard(editing, saved, next);
    expect(result.form).toBe(editing);
    expect(result.changedUnderEdit).toBe(true);
  });

  it("does not report the person's own save as a change under their edit", () => {
    const editing = { ...formOf(saved), choices: { ...formOf(saved).choices, priority: "high" } };
    const next = { ...saved, priority: "high" as const };
    expect(followCard(editing, saved, next)).toEqual({ form: editing, changedUnderEdit: false });
    expect(isDirty(editing, next)).toBe(false);
  });
});
