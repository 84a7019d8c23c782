import { describe, expect, it } from "vitest";
import { absoluteUrl, archiveHref, branchCards, cloneCommand, crumbs, formatSize, parentOf } from "./repositoryView";

describe("cloning", () => {
  it("gives the clone URL on the gateway's origin and the command", () => {
    const url = absoluteUrl("/git/p1.git", "https://agentworks.example");
    expect(url).toBe("https://agentworks.example/git/p1.git");
    expect(absoluteUrl("https://git.example/r.git", "https://agentworks.example")).toBe("https://git.example/r.git");
    expect(absoluteUrl("https://git.example/r.git", undefined)).toBe("https://git.example/r.git");
    expect(cloneCommand(url)).toBe("git clone https://agentworks.example/git/p1.git");
  });
  it("downloads a ref's zip", () => {
    expect(archiveHref("p1", "card/a b")).toBe("/api/projects/p1/repository/archive.zip?ref=card%2Fa+b");
  });
});

describe("browsing", () => {
  it("splits a path into the directories that open it", () => {
    expect(crumbs("")).toEqual([]);
    expect(crumbs("src/app/")).toEqual([
      { name: "src", path: "src" },
      { name: "app", path: "src/app" },
    ]);
  });
  it("goes up a directory", () => {
    expect(parentOf("")).toBeNull();
    expect(parentOf("src")).toBe("");
    expect(parentOf("src/app")).toBe("src");
  });
  it("says sizes in bytes, KB or MB", () => {
    expect(formatSize(512)).toBe("512 B");
    expect(formatSize(2048)).toBe("2.0 KB");
    expect(formatSize(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});

describe("branchCards", () => {
  it("names each branch's card by its title, leaving out a card no longer on the board", () => {
    const titles = new Map([["c1", "Slugs"]]);
    const joined = branchCards(
      [
        { name: "card/slugs-c1", card_id: "c1" },
        { name: "card/gone-c2", card_id: "c2" },
        { name: "main", card_id: null },
      ],
      titles,
    );
    expect(joined.map((b) => [b.name, b.card])).toEqual([
      ["card/slugs-c1", { id: "c1", title: "Slugs" }],
      ["card/gone-c2", null],
      ["main", null],
    ]);
  });
});
