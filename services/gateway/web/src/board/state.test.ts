import { afterEach, describe, expect, it, vi } from "vitest";
import type { CardSnapshot } from "../api/generated/events/card-events";
import type { Board, Card, Lane } from "../api/types";
import { agentsOfLane, applyCardEvent, type CardEvent, boardReaction, dragAnnouncements, findCard, moveCard, resolveDrop, stepPlace, wipRefusal } from "./state";

function card(id: string, laneId: string, position: number): Card {
  return {
    id, project_id: "p", board_id: "b", lane_id: laneId, position, title: id.toUpperCase(), description: "",
    card_type: "task", priority: "none", assignee_id: null, assignee_agent: null, parent_id: null, acceptance_criteria: [],
    checklist: [], label_ids: [], due_date: null, human_id: `P-${id}`, created_at: "", updated_at: "", archived_at: null,
    runs: null,
  };
}

function lane(id: string, number: number, cardIds: string[], wip: number | null = null): Lane {
  const cards = cardIds.map((c, i) => card(c, id, i));
  return { id, number, position: number, name: `Lane ${number}`, wip_limit: wip, requires_approval: false, card_count: cards.length, cards };
}

function board(): Board {
  return {
    id: "b", project_id: "p", workspace_id: "w", name: "Board", labels: [],
    lanes: [lane("l0", 0, ["a", "b", "c"]), lane("l1", 1, ["d"], 2), lane("l2", 2, [], 0)],
  };
}

const ids = (b: Board, laneId: string) => b.lanes.find((l) => l.id === laneId)?.cards.map((c) => c.id);

describe("resolveDrop", () => {
  it("drops on a lane at its end and on a card at that card's place", () => {
    expect(resolveDrop(board(), "a", "l1")).toEqual({ laneId: "l1", index: 1 });
    expect(resolveDrop(board(), "a", "d")).toEqual({ laneId: "l1", index: 0 });
    expect(resolveDrop(board(), "a", "c")).toEqual({ laneId: "l0", index: 2 });
  });
  it("ignores drops that change nothing or land nowhere", () => {
    expect(resolveDrop(board(), "a", "a")).toBeNull();
    expect(resolveDrop(board(), "c", "l0")).toBeNull();
    expect(resolveDrop(board(), "a", "nowhere")).toBeNull();
    expect(resolveDrop(board(), "ghost", "l1")).toBeNull();
  });
});

describe("dragAnnouncements", () => {
  const say = dragAnnouncements(() => board());
  it("names cards and lanes, never their ids", () => {
    expect(say.onDragStart({ active: { id: "a" } })).toBe("Picked up card A.");
    expect(say.onDragOver({ active: { id: "a" }, over: { id: "d" } })).toBe("Moved card A over card D in lane Lane 1.");
    expect(say.onDragOver({ active: { id: "a" }, over: { id: "l2" } })).toBe("Moved card A over lane Lane 2.");
    expect(say.onDragEnd({ active: { id: "a" }, over: { id: "l1" } })).toBe("Dropped card A on lane Lane 1.");
    expect(say.onDragCancel({ active: { id: "b" } })).toBe("Cancelled moving card B; it is back where it was.");
  });
  it("says where nothing is under the card, and copes with a card the board no longer has", () => {
    expect(say.onDragOver({ active: { id: "a" }, over: null })).toBe("Moved card A away from every lane.");
    expect(say.onDragEnd({ active: { id: "gone" }, over: null })).toBe("Dropped the card where it was.");
  });
});

describe("moveCard", () => {
  it("moves across lanes and renumbers both", () => {
    const moved = moveCard(board(), "b", { laneId: "l1", index: 0 });
    expect(ids(moved, "l0")).toEqual(["a", "c"]);
    expect(ids(moved, "l1")).toEqual(["b", "d"]);
    expect(findCard(moved, "b")?.card).toMatchObject({ lane_id: "l1", position: 0 });
    expect(findCard(moved, "d")?.card.position).toBe(1);
  });
  it("reorders within a lane and keeps the previous board untouched for rollback", () => {
    const before = board();
    const moved = moveCard(before, "a", { laneId: "l0", index: 2 });
    expect(ids(moved, "l0")).toEqual(["b", "c", "a"]);
    expect(ids(before, "l0")).toEqual(["a", "b", "c"]);
    expect(moved.lanes[2]).toBe(before.lanes[2]);
  });
});

describe("wipRefusal", () => {
  it("refuses entering a full lane and names it", () => {
    const full = moveCard(board(), "a", { laneId: "l1", index: 0 });
    expect(wipRefusal(full, "b", "l1")).toBe("Lane 1 is at its WIP limit (2/2).");
    expect(wipRefusal(board(), "a", "l2")).toBe("Lane 2 is at its WIP limit (0/0).");
  });
  it("allows moves within a lane, into lanes with room or without a limit", () => {
    expect(wipRefusal(board(), "a", "l1")).toBeNull();
    const full = moveCard(board(), "a", { laneId: "l1", index: 0 });
    expect(wipRefusal(full, "a", "l1")).toBeNull();
    expect(wipRefusal(board(), "d", "l0")).toBeNull();
  });
});

describe("applyCardEvent", () => {
  const about = { project_id: "p", workspace_id: "w" };
  const snapshot = (id: string, laneId: string, position: number): CardSnapshot => ({
    card_id: id, board_id: "b", lane_id: laneId, lane_number: Number(laneId.slice(1)), title: id, description: "",
    card_type: "task", priority: "none", position, assignee_id: null, parent_id: null, acceptance_criteria: [], checklist: [],
  });
  const moved = (id: string, laneId: string, position: number): CardEvent => ({
    ...about, type: "card.moved", card_id: id, board_id: "b", card: snapshot(id, laneId, position),
    from_lane_id: "l0", from_lane_number: 0, from_position: 0, to_lane_id: laneId, to_lane_number: 1, to_position: position,
  });
  const deleted = (id: string): CardEvent => ({ ...about, type: "card.deleted", card_id: id, board_id: "b", lane_id: "l1" });
  it("moves, creates, updates and deletes cards from live events", () => {
    let b = applyCardEvent(board(), moved("a", "l1", 1));
    expect(ids(b, "l0")).toEqual(["b", "c"]);
    expect(ids(b, "l1")).toEqual(["d", "a"]);
    b = applyCardEvent(b, { ...about, type: "card.created", card_id: "e", card: snapshot("e", "l2", 0) });
    expect(ids(b, "l2")).toEqual(["e"]);
    const renamed = { ...snapshot("e", "l2", 0), title: "Renamed", card_type: "bug", priority: "urgent" as const };
    b = applyCardEvent(b, { ...about, type: "card.updated", card_id: "e", card: renamed, changed_fields: ["title", "card_type", "priority"] });
    expect(findCard(b, "e")?.card).toMatchObject({ title: "Renamed", card_type: "bug", priority: "urgent", board_id: "b", project_id: "p" });
    b = applyCardEvent(b, deleted("d"));
    expect(ids(b, "l1")).toEqual(["a"]);
  });
  it("takes a card's checklist and acceptance criteria from its snapshot, an item not done unless it says so", () => {
    const card = { ...snapshot("a", "l0", 0), acceptance_criteria: ["Pays"], checklist: [{ text: "Form" }, { text: "API", done: true }] };
    const after = applyCardEvent(board(), { ...about, type: "card.updated", card_id: "a", card, changed_fields: ["checklist"] });
    expect(findCard(after, "a")?.card).toMatchObject({
      acceptance_criteria: ["Pays"], checklist: [{ text: "Form", done: false }, { text: "API", done: true }],
    });
  });
  it("keeps the description a partial frame leaves out", () => {
    const described = applyCardEvent(board(), { ...about, type: "card.updated", card_id: "a", card: { ...snapshot("a", "l0", 0), description: "Long" }, changed_fields: ["description"] });
    const { description: _left, ...partial } = snapshot("a", "l0", 0);
    const after = applyCardEvent(described, { ...about, type: "card.updated", card_id: "a", card: { ...partial, title: "New" }, changed_fields: ["title"] });
    expect(findCard(after, "a")?.card).toMatchObject({ title: "New", description: "Long" });
  });
  it("takes an archived card off the board and puts it back, with its labels, when unarchived", () => {
    const archived = applyCardEvent(board(), { ...about, type: "card.archived", card_id: "b", board_id: "b", lane_id: "l0" });
    expect(ids(archived, "l0")).toEqual(["a", "c"]);
    const card = { ...snapshot("b", "l0", 1), label_ids: ["bug"] as [string], human_id: "P-2", due_date: "2026-12-24" };
    const restored = applyCardEvent(archived, { ...about, type: "card.unarchived", card_id: "b", card });
    expect(ids(restored, "l0")).toEqual(["a", "b", "c"]);
    expect(findCard(restored, "b")?.card).toMatchObject({ label_ids: ["bug"], human_id: "P-2", due_date: "2026-12-24", archived_at: null });
  });
  afterEach(() => vi.useRealTimers());
  it("is idempotent for a repeated event and ignores other event types", () => {
    vi.useFakeTimers({ now: new Date("2026-12-06T07:00:00Z") }); // a fold stamps updated_at with the clock
    const event = moved("a", "l1", 0);
    const once = applyCardEvent(board(), event);
    expect(applyCardEvent(once, event)).toEqual(once);
    expect(applyCardEvent(once, { ...about, type: "card.run_requested", card_id: "a", agent: "qa", lane_number: 7 })).toBe(once);
  });
});

describe("stepPlace (keyboard)", () => {
  it("steps across lanes and within a lane, stopping at the edges", () => {
    expect(stepPlace(board(), "b", "right")).toEqual({ laneId: "l1", index: 1 });
    expect(stepPlace(board(), "a", "left")).toBeNull();
    expect(stepPlace(board(), "b", "up")).toEqual({ laneId: "l0", index: 0 });
    expect(stepPlace(board(), "c", "down")).toBeNull();
  });
});

describe("boardReaction", () => {
  it("refetches the board on a resync, folds card events and refreshes runs on status", () => {
    expect(boardReaction({ type: "resync" })).toBe("refetch");
    const event: CardEvent = { type: "card.deleted", card_id: "a", board_id: "b", lane_id: "l0", project_id: "p", workspace_id: "w" };
    expect(boardReaction({ type: "card", event })).toBe("fold");
    expect(boardReaction({ type: "status", card_id: "a", run_id: "r", status: "running" })).toBe("runs");
    expect(boardReaction({ type: "ping" })).toBe("none");
  });
});

describe("agentsOfLane", () => {
  it("lists the agents mapped to a lane, enabled or not", () => {
    const agent = (name: string, lanes: number[], enabled: boolean) =>
      ({ agent: name, display_name: name, enabled, lanes, model: "m", overridden: false, provider: "p" });
    const agents = [agent("prd", [1], true), agent("designer", [1, 2], false), agent("qa", [3], true)];
    expect(agentsOfLane(agents, 1).map((a) => [a.agent, a.enabled])).toEqual([
      ["prd", true],
      ["designer", false],
    ]);
    expect(agentsOfLane(agents, 0)).toEqual([]);
  });
});
