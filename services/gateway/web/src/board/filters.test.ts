import { describe, expect, it } from "vitest";
import type { Board, Card } from "../api/types";
import { agentStateOf, cardMatches, filtersFromSearch, filtersToSearch, NO_FILTERS, visibleCards, type BoardFilters } from "./filters";

function card(fields: Partial<Card>): Card {
  return {
    id: "c1", human_id: "SHOP-1", title: "Refunds", description: "Money back within 14 days", priority: "none", card_type: "task",
    assignee_id: null, label_ids: [], runs: null, lane_id: "l0", position: 0, parent_id: null, project_id: "p", board_id: "b",
    acceptance_criteria: [], checklist: [], created_at: "2026-12-06T10:00:00Z", updated_at: "2026-12-06T10:00:00Z",
    ...fields,
  } as Card;
}

const badge = (last_status: string, awaiting_approval = 0) => ({ last_status, awaiting_approval, last_agent: "prd", runs: 1, total_price: "0.25" });

describe("filters in the address", () => {
  it("round-trips every filter and keeps the other parameters", () => {
    const filters: BoardFilters = { text: "refund", labels: ["l-1", "l-2"], priorities: ["low", "urgent"], assignee: "u-1", agentState: "awaiting" };
    const search = filtersToSearch(filters, new URLSearchParams("card=c9"));
    expect(search.get("card")).toBe("c9");
    expect(search.get("priority")).toBe("urgent,low"); // in the board's order, whatever the order picked
    expect(filtersFromSearch(search)).toEqual({ ...filters, priorities: ["urgent", "low"] });
  });
  it("leaves empty filters out of the address and ignores values it does not know", () => {
    const search = filtersToSearch(NO_FILTERS, new URLSearchParams("q=old&agent=awaiting&card=c9"));
    expect(search.toString()).toBe("card=c9");
    expect(filtersFromSearch(new URLSearchParams("priority=urgent,someday&agent=sleeping"))).toEqual({ ...NO_FILTERS, priorities: ["urgent"] });
  });
});

describe("cardMatches", () => {
  it("finds the text in the title or the description, whatever the case", () => {
    expect(cardMatches(card({}), { ...NO_FILTERS, text: "REFUND" })).toBe(true);
    expect(cardMatches(card({}), { ...NO_FILTERS, text: "14 days" })).toBe(true);
    expect(cardMatches(card({}), { ...NO_FILTERS, text: "invoice" })).toBe(false);
    expect(cardMatches(card({ human_id: "SHOP-42" }), { ...NO_FILTERS, text: "shop-42" })).toBe(true);
  });
  it("keeps the cards of the chosen priorities, assignee (or none) and agents' state", () => {
    expect(cardMatches(card({ label_ids: ["l-2"] }), { ...NO_FILTERS, labels: ["l-1", "l-2"] })).toBe(true);
    expect(cardMatches(card({ label_ids: ["l-3"] }), { ...NO_FILTERS, labels: ["l-1"] })).toBe(false);
    expect(cardMatches(card({ priority: "high" }), { ...NO_FILTERS, priorities: ["high", "urgent"] })).toBe(true);
    expect(cardMatches(card({ priority: "low" }), { ...NO_FILTERS, priorities: ["high"] })).toBe(false);
    expect(cardMatches(card({ assignee_id: "u-1" }), { ...NO_FILTERS, assignee: "u-1" })).toBe(true);
    expect(cardMatches(card({ assignee_id: "u-1" }), { ...NO_FILTERS, assignee: "none" })).toBe(false);
    expect(cardMatches(card({}), { ...NO_FILTERS, assignee: "none" })).toBe(true);
    expect(cardMatches(card({ runs: badge("completed", 1) }), { ...NO_FILTERS, agentState: "awaiting" })).toBe(true);
    expect(cardMatches(card({ runs: badge("completed") }), { ...NO_FILTERS, agentState: "awaiting" })).toBe(false);
  });
});

describe("agentStateOf", () => {
  it("reads the runs summary the board carries", () => {
    expect(agentStateOf(card({}))).toBe("none");
    expect(agentStateOf(card({ runs: badge("running") }))).toBe("active");
    expect(agentStateOf(card({ runs: badge("refused") }))).toBe("failed");
    expect(agentStateOf(card({ runs: badge("completed") }))).toBe("done");
    expect(agentStateOf(card({ runs: badge("completed", 2) }))).toBe("awaiting");
  });
});

describe("visibleCards", () => {
  it("keeps every lane, with only its matching cards", () => {
    const board = { lanes: [{ id: "l0", cards: [card({}), card({ id: "c2", title: "Invoices" })] }, { id: "l1", cards: [] }] } as unknown as Board;
    const shown = visibleCards(board, { ...NO_FILTERS, text: "invoice" });
    expect(shown.get("l0")?.map((c) => c.id)).toEqual(["c2"]);
    expect(shown.get("l1")).toEqual([]);
  });
});
