import { describe, expect, it } from "vitest";
import { commentAuthor, imageFileUrl } from "./CardExtras";

describe("commentAuthor", () => {
  it("names the agent and run that wrote a comment, or a person", () => {
    expect(commentAuthor({ agent: "product_manager", run_id: "0123456789abcdef" })).toBe("product manager (run 01234567)");
    expect(commentAuthor({ agent: null, run_id: null })).toBe("A person");
  });
});

describe("imageFileUrl", () => {
  it("reads an image's bytes through the card's images route", () => {
    expect(imageFileUrl({ card_id: "c1", id: "i1" })).toBe("/api/cards/c1/images/i1/file");
  });
});
