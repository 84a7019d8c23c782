import { describe, expect, it } from "vitest";
import { applyMention, handleOf, mentionAt, mentionChoices } from "./mentions";

describe("mentions", () => {
  it("finds the @word being typed at the caret, not an email address", () => {
    expect(mentionAt("Hi @pr", 6)).toEqual({ start: 3, text: "pr" });
    expect(mentionAt("@", 1)).toEqual({ start: 0, text: "" });
    expect(mentionAt("mail ada@exa", 12)).toBeNull();
    expect(mentionAt("@prd done", 9)).toBeNull();
  });

  it("offers agents by key or name, then people by handle or email", () => {
    const emails = ["ada.l@example.com", "prdfan@example.com"];
    expect(mentionChoices("prd", emails).map((c) => [c.handle, c.kind])).toEqual([
      ["prd", "agent"],
      ["prdfan", "person"],
    ]);
    expect(mentionChoices("backend", emails).map((c) => c.handle)).toEqual(["dev_backend"]);
    expect(mentionChoices("ada", emails)).toEqual([{ handle: "ada.l", label: "ada.l@example.com", kind: "person" }]);
    expect(handleOf("Grace.H@Example.com")).toBe("grace.h");
  });

  it("replaces the query with the handle and moves the caret after it", () => {
    const text = "Ask @pr about it";
    const query = mentionAt(text, 7)!;
    expect(applyMention(text, query, { handle: "prd", label: "PRD", kind: "agent" }, 7)).toEqual({ text: "Ask @prd  about it", caret: 9 });
  });
});
