import { describe, expect, it } from "vitest";
import type { Board, Card } from "../api/types";
import { boardPath, cardPath, findOnBoard, isCanonical, openedCardRef, parseCardRef, refText } from "./address";

const ID = "0b6f1f0e-4d8c-4e57-9a43-3c3a8f6b2e10";

function board(...cards: Partial<Card>[]): Board {
  return { id: "b", name: "Shop", labels: [], lanes: [{ id: "l0", number: 0, name: "Vision", wip_limit: null, cards: cards as Card[] }] } as unknown as Board;
}

describe("the open card in the address", () => {
  it("reads a short id in any case as core writes it", () => {
    expect(parseCardRef("shop-42")).toEqual({ kind: "short", shortId: "SHOP-42", legacy: false });
    expect(parseCardRef("A1B2-7")).toEqual({ kind: "short", shortId: "A1B2-7", legacy: false });
  });
  it("reads a card's id, and anything else as a card that cannot exist", () => {
    expect(parseCardRef(ID.toUpperCase())).toEqual({ kind: "id", id: ID, legacy: false });
    expect(parseCardRef("SHOP-0").kind).toBe("unknown"); // numbers start at 1
    expect(parseCardRef("42-SHOP").kind).toBe("unknown");
    expect(parseCardRef("TOOLONGAKEY1-3").kind).toBe("unknown");
    expect(refText(parseCardRef("nope"))).toBe("nope");
  });
  it("takes the path's card before an older link's ?card=, and none when neither is there", () => {
    expect(openedCardRef("SHOP-3", new URLSearchParams(`card=${ID}`))).toEqual({ kind: "short", shortId: "SHOP-3", legacy: false });
    expect(openedCardRef(undefined, new URLSearchParams(`q=refund&card=${ID}`))).toEqual({ kind: "id", id: ID, legacy: true });
    expect(openedCardRef(undefined, new URLSearchParams("q=refund"))).toBeNull();
  });
  it("calls only a path's short id, as core writes it, canonical", () => {
    const card = { human_id: "SHOP-3" };
    expect(isCanonical(parseCardRef("SHOP-3"), card)).toBe(true);
    expect(isCanonical(parseCardRef("SHOP-3", true), card)).toBe(false);
    expect(isCanonical(parseCardRef(ID), card)).toBe(false);
    expect(isCanonical(parseCardRef("shop-3"), { human_id: "shop-3" })).toBe(false); // a lower-case key stays as core keeps it
  });
  it("finds a card on the board by short id or id, not an archived one", () => {
    const shown = board({ id: ID, human_id: "SHOP-3", title: "Refunds" });
    expect(findOnBoard(shown, parseCardRef("shop-3"))?.title).toBe("Refunds");
    expect(findOnBoard(shown, parseCardRef(ID))?.title).toBe("Refunds");
    expect(findOnBoard(shown, parseCardRef("SHOP-4"))).toBeUndefined();
    expect(findOnBoard(shown, parseCardRef("??"))).toBeUndefined();
  });
  it("moves between the board and a card keeping the filters and dropping an older link's card", () => {
    const search = new URLSearchParams(`q=refund&card=${ID}&archived=1`);
    expect(cardPath("w1", "p1", "SHOP-3", search)).toBe("/w/w1/p/p1/cards/SHOP-3?q=refund&archived=1");
    expect(boardPath("w1", "p1", search)).toBe("/w/w1/p/p1/board?q=refund&archived=1");
    expect(boardPath("w1", "p1")).toBe("/w/w1/p/p1/board");
  });
});
