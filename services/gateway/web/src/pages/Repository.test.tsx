import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter, Route, Routes } from "react-router";
import { describe, expect, it } from "vitest";
import { keys } from "../api/hooks";
import type { Board, Project, Repository, RepositoryFiles, Workspace } from "../api/types";
import { RepositoryPage } from "./Repository";

const WS = "00000000-0000-4000-8000-0000000000a1";
const PROJECT = "00000000-0000-4000-8000-0000000000b1";
const BOARD = "00000000-0000-4000-8000-0000000000c1";
const CARD = "00000000-0000-4000-8000-0000000000d1";

const REPOSITORY: Repository = {
  project_id: PROJECT,
  default_branch: "main",
  clone_url: `http://localhost:8080/git/${PROJECT}.git`,
  remote_kind: "hosted",
  remote: null,
  head_sha: "4a626c9000000000",
  branches: [
    { name: "main", sha: "4a626c9000000000", card_id: null, ahead: 0, behind: 0 },
    { name: "card/slugs-00000000", sha: "bcb6f9a000000000", card_id: CARD, ahead: 1, behind: 0 },
  ],
};

function listing(path: string, files: Partial<RepositoryFiles>): RepositoryFiles {
  return { ref: "main", commit: "4a626c9", path, kind: "dir", entries: [], content: null, binary: false, truncated: false, ...files };
}

const CONNECTED: Repository = {
  ...REPOSITORY,
  remote_kind: "connected",
  clone_url: "https://forge.example/team/shop.git",
  remote: {
    url: "https://forge.example/team/shop.git",
    username: "x-access-token",
    connected_at: "2026-12-01T10:00:00Z",
    connected_by: "00000000-0000-4000-8000-0000000000e1",
  },
};

function render(path: string, files: RepositoryFiles, role = "member", repository: Repository = REPOSITORY): string {
  const client = new QueryClient();
  client.setQueryData(keys.workspaces, [{ id: WS, name: "Acme", role } as Workspace]);
  client.setQueryData(keys.projects(WS), [{ id: PROJECT, name: "Shop", board_id: BOARD } as Project]);
  client.setQueryData(keys.repository(PROJECT), repository);
  client.setQueryData(keys.board(BOARD), { id: BOARD, lanes: [{ id: "l0", cards: [{ id: CARD, title: "Slugs" }] }] } as unknown as Board);
  client.setQueryData(keys.repositoryFiles(PROJECT, "main", path), files);
  const query = path ? `?path=${encodeURIComponent(path)}` : "";
  return renderToStaticMarkup(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[`/w/${WS}/p/${PROJECT}/repository${query}`]}>
        <Routes>
          <Route path="/w/:workspaceId/p/:projectId/repository" element={<RepositoryPage />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("RepositoryPage", () => {
  const root = listing("", {
    entries: [
      { name: "src", path: "src", type: "dir", size: null },
      { name: "slug.py", path: "slug.py", type: "file", size: 70 },
    ],
  });

  it("shows how to clone, the zip and the branches with their cards", () => {
    const html = render("", root);
    expect(html).toContain("Repository of Shop");
    expect(html).toContain(`git clone http://localhost:8080/git/${PROJECT}.git`);
    expect(html).toContain(`href="/api/projects/${PROJECT}/repository/archive.zip?ref=main"`);
    expect(html).toContain(`href="/w/${WS}/p/${PROJECT}/board?card=${CARD}"`);
    expect(html).toMatch(/card\/slugs-00000000[\s\S]*1 \/ 0[\s\S]*>Slugs</);
  });

  it("lists a directory's entries and opens a file as text", () => {
    const html = render("", root);
    expect(html).toContain(">src/<");
    expect(html).toContain(">slug.py<");
    expect(html).toContain("70 B");
    expect(html).not.toContain('aria-label="Up a directory"');  // the root has nothing above it
    const file = render("slug.py", listing("slug.py", { kind: "file", content: "x = '<b>'\n", truncated: true }));
    expect(file).toContain("x = &#x27;&lt;b&gt;&#x27;");
    expect(file).toContain("too long to show whole");
    expect(file).toMatch(/aria-label="Path"[\s\S]*>main<\/button>[\s\S]*>slug.py<\/button>/);  // back up by the path
  });

  it("says a binary file has no text to show", () => {
    const html = render("logo.png", listing("logo.png", { kind: "file", binary: true }));
    expect(html).toContain("A binary file");
  });

  it("offers owners a form to connect a remote and others only where the repository lives", () => {
    const owner = render("", root, "owner");
    expect(owner).toContain("Hosted by AgentWorks.");
    expect(owner).toMatch(/<form[^>]*aria-label="Connect a remote"/);
    expect(owner).toMatch(/type="password"/);
    expect(owner).not.toContain("Disconnect");
    for (const role of ["member", "viewer"]) {
      const html = render("", root, role);
      expect(html).toContain("Hosted by AgentWorks.");
      expect(html).not.toContain("Connect a remote");
    }
  });

  it("shows a connected remote, its clone URL and, to owners only, Disconnect", () => {
    const owner = render("", root, "owner", CONNECTED);
    expect(owner).toContain("Connected to <code>https://forge.example/team/shop.git</code>");
    expect(owner).toContain('value="https://forge.example/team/shop.git"');
    expect(owner).toContain("with your own credentials");
    expect(owner).toContain(">Disconnect<");
    expect(owner).not.toContain("Connect a remote");
    const viewer = render("", root, "viewer", CONNECTED);
    expect(viewer).toContain("Connected to <code>https://forge.example/team/shop.git</code>");
    expect(viewer).not.toContain(">Disconnect<");
  });
});
