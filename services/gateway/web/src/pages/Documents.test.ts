import { describe, expect, it } from "vitest";
import type { DocumentInfo } from "../api/types";
import { newest } from "../lib/newest";
import { documentPath } from "../api/hooks";
import { attribution, chosenDocument, groupDocuments } from "./Documents";

const doc = (kind: string, updated_at: string, card: { id: string; title: string } | null = null): DocumentInfo => ({
  id: `${card?.id ?? "project"}-${kind}`,
  kind,
  title: kind,
  latest_version: 1,
  project_id: "p",
  updated_at,
  card_id: card?.id ?? null,
  card_title: card?.title ?? null,
});
const checkout = { id: "c1", title: "Checkout" };
const refunds = { id: "c2", title: "Refunds" };

describe("documents page", () => {
  it("opens on the most recently written document", () => {
    const documents = [doc("prd", "2026-12-06T07:00:00Z"), doc("spec", "2026-12-06T08:00:00Z"), doc("ux", "2026-12-05T08:00:00Z")];
    expect(newest(documents, (d) => d.updated_at)?.kind).toBe("spec");
    expect(newest([] as DocumentInfo[], (d) => d.updated_at)).toBeNull();
  });
  it("groups the project's own documents first, then each card's, cards by their newest document", () => {
    const documents = [
      doc("prd", "2026-12-06T07:00:00Z", checkout),
      doc("blueprint", "2026-12-01T07:00:00Z"),
      doc("prd", "2026-12-06T09:00:00Z", refunds),
      doc("tech_spec", "2026-12-06T08:00:00Z", checkout),
    ];
    const groups = groupDocuments(documents);
    expect(groups.map((g) => [g.card?.title ?? null, g.documents.map((d) => d.kind)])).toEqual([
      [null, ["blueprint"]],
      ["Refunds", ["prd"]],
      ["Checkout", ["tech_spec", "prd"]],
    ]);
    expect(groupDocuments(documents.filter((d) => d.card_id)).map((g) => g.card?.id)).toEqual(["c2", "c1"]);
  });
  it("opens the newest document, or the one the address names, telling cards' documents of a kind apart", () => {
    const documents = [doc("prd", "2026-12-06T07:00:00Z", checkout), doc("prd", "2026-12-06T09:00:00Z", refunds), doc("prd", "2026-12-01T07:00:00Z")];
    expect(chosenDocument(documents, null, null)?.id).toBe("c2-prd");
    expect(chosenDocument(documents, "prd", "c1")?.id).toBe("c1-prd");
    expect(chosenDocument(documents, "prd", null)?.id).toBe("project-prd");
    expect(chosenDocument(documents, "mvp", "c1")).toBeNull();
    expect(documentPath("p", documents[0]!)).toBe("/api/cards/c1/documents/prd");
    expect(documentPath("p", documents[2]!)).toBe("/api/projects/p/documents/prd");
  });
  it("says who wrote a version", () => {
    const run = { source_run_id: "0123456789abcdef", author_id: null };
    expect(attribution({ ...run, agent: "product_manager", card_title: "Checkout" })).toBe("by product manager on “Checkout” (run 01234567)");
    expect(attribution({ ...run, agent: null, card_title: null })).toBe("by an agent (run 01234567)");
    expect(attribution({ source_run_id: null, author_id: "u1", agent: null, card_title: null })).toBe("by a person");
  });
});
