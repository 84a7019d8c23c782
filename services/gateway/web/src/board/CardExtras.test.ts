import { describe, expect, it } from "vitest";
import { imageFileUrl } from "./CardExtras";

describe("imageFileUrl", () => {
  it("reads an image's bytes through the card's images route", () => {
    expect(imageFileUrl({ card_id: "c1", id: "i1" })).toBe("/api/cards/c1/images/i1/file");
  });
});
