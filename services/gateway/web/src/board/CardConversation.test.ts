import { describe, expect, it } from "vitest";
import type { Member } from "../api/types";
import { commentAuthor } from "./CardConversation";

const ada = { id: "m1", user_id: "u1", email: "ada@example.com", role: "member", status: "active", created_at: "2026-01-01T00:00:00Z" } satisfies Member;

describe("commentAuthor", () => {
  it("names the agent and run that wrote a comment, you, or the member by email", () => {
    expect(commentAuthor({ agent: "product_manager", run_id: "0123456789abcdef", author_id: null }, "u1", [ada])).toBe("product manager (run 01234567)");
    expect(commentAuthor({ agent: null, run_id: null, author_id: "u1" }, "u1", [ada])).toBe("You");
    expect(commentAuthor({ agent: null, run_id: null, author_id: "u1" }, "u2", [ada])).toBe("ada@example.com");
    expect(commentAuthor({ agent: null, run_id: null, author_id: "gone" }, "u2", [ada])).toBe("A former member");
  });
});
