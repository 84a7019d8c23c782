import { describe, expect, it } from "vitest";
import type { DocumentInfo } from "../api/types";
import { newest } from "../lib/newest";
import { attribution } from "./Documents";

const doc = (kind: string, updated_at: string): DocumentInfo => ({ id: kind, kind, title: kind, latest_version: 1, project_id: "p", updated_at });

describe("documents page", () => {
  it("opens on the most recently written document", () => {
    const documents = [doc("prd", "2026-12-06T07:00:00Z"), doc("spec", "2026-12-06T08:00:00Z"), doc("ux", "2026-12-05T08:00:00Z")];
    expect(newest(documents, (d) => d.updated_at)?.kind).toBe("spec");
    expect(newest([] as DocumentInfo[], (d) => d.updated_at)).toBeNull();
  });
  it("says who wrote a version", () => {
    const run = { source_run_id: "0123456789abcdef", author_id: null };
    expect(attribution({ ...run, agent: "product_manager", card_title: "Checkout" })).toBe("by product manager on “Checkout” (run 01234567)");
    expect(attribution({ ...run, agent: null, card_title: null })).toBe("by an agent (run 01234567)");
    expect(attribution({ source_run_id: null, author_id: "u1", agent: null, card_title: null })).toBe("by a person");
  });
});
