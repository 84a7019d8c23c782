import { describe, expect, it } from "vitest";
import type { Card } from "../api/types";
import { archivedMatching } from "./ArchivedCards";

const card = (human_id: string, title: string, description = "") => ({ id: human_id, human_id, title, description, label_ids: [] }) as unknown as Card;

describe("searching archived cards", () => {
  const cards = [card("SHOP-1", "Refunds"), card("SHOP-2", "Invoices", "PDF refunds too"), card("SHOP-12", "Gift cards")];
  it("matches the short id, the title and the description, in any case", () => {
    expect(archivedMatching(cards, "refund").map((c) => c.human_id)).toEqual(["SHOP-1", "SHOP-2"]);
    expect(archivedMatching(cards, "shop-12").map((c) => c.human_id)).toEqual(["SHOP-12"]);
    expect(archivedMatching(cards, "  ")).toHaveLength(3);
    expect(archivedMatching(cards, "nothing")).toEqual([]);
  });
});
