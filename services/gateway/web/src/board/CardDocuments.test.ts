import { describe, expect, it } from "vitest";
import { writtenBy } from "./CardDocuments";

describe("writtenBy", () => {
  it("names the agent and the run that wrote a card's document, or a person", () => {
    expect(writtenBy({ agent: "dev_backend", run_id: "abcdef0123456789", author_id: null })).toBe("by Backend developer (run abcdef01)");
    expect(writtenBy({ agent: null, run_id: null, author_id: "u1" })).toBe("by a person");
  });
});
