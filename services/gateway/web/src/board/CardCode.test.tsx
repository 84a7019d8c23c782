import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { keys } from "../api/hooks";
import type { CardCode as Code, CardRuns, CommandRun, Run } from "../api/types";
import { CardCode } from "./CardCode";

const CARD = "c0ffee00-0000-4000-8000-000000000001";

const CODE: Code = {
  card_id: CARD,
  branch: "card/slugs-c0ffee00",
  base: "main",
  exists: true,
  commits: [
    {
      sha: "0123456789abcdef0123456789abcdef01234567",
      message: "Add the slug helper\n\nAgentWorks-Run: r1",
      author: "Backend developer",
      run_id: "abcdef01-0000-4000-8000-000000000000",
      committed_at: "2026-12-06T12:00:00.000000Z",
    },
  ],
  files: [{ path: "slug.py", status: "added", additions: 2, deletions: 0 }],
  diff: "diff --git a/slug.py b/slug.py\n",
  truncated: false,
  merged: false,
  merged_sha: null,
  mergeable: true,
  conflicts: [],
};

const COMMAND: CommandRun = {
  id: "c0ffee00-0000-4000-8000-0000000000aa",
  run_id: "abcdef01-0000-4000-8000-000000000000",
  agent: "qa",
  command: "python -m pytest -q",
  exit_code: 1,
  killed_reason: null,
  output_tail: "<b>1 failed</b>",
  truncated: true,
  timed_out: false,
  duration_ms: 1500,
  started_at: "2026-12-06T12:00:00.000000Z",
};

function run(approval: string | null): Run {
  return { id: "r1", agent: "qa", status: "completed", approval } as Run;
}

function render(props: { canWrite: boolean; requiresApproval?: boolean; approval?: string | null; code?: Partial<Code>; commands?: CommandRun[] }): string {
  const client = new QueryClient();
  client.setQueryData<Code>(keys.cardCode(CARD), { ...CODE, ...props.code });
  client.setQueryData<CommandRun[]>(keys.cardCommands(CARD), props.commands ?? [COMMAND]);
  client.setQueryData<CardRuns>(keys.cardRuns(CARD), { runs: [run(props.approval ?? null)], total_price: "0", total_cost: null } as CardRuns);
  return renderToStaticMarkup(
    <QueryClientProvider client={client}>
      <CardCode cardId={CARD} projectId="p1" lane={{ requires_approval: props.requiresApproval ?? false }} canWrite={props.canWrite} />
    </QueryClientProvider>,
  );
}

describe("CardCode", () => {
  it("shows the branch, its commits and the changed files", () => {
    const html = render({ canWrite: true });
    expect(html).toContain("<code>card/slugs-c0ffee00</code> from <code>main</code>");
    expect(html).toContain("0123456</code> Add the slug helper");
    expect(html).toMatch(/<a href="#drawer-runs"[^>]*>run abcdef01<\/a>/);
    expect(html).toContain("slug.py");
  });

  it("offers members the merge, never viewers", () => {
    expect(render({ canWrite: true })).toContain("Merge into main");
    expect(render({ canWrite: false })).not.toContain("Merge into");
  });

  it("disables the merge with the reason while the lane's gate holds a run", () => {
    const html = render({ canWrite: true, requiresApproval: true, approval: "pending" });
    expect(html).toMatch(/<button[^>]*disabled=""[^>]*>Merge into main/);
    expect(html).toContain("awaiting approval");
    expect(render({ canWrite: true, requiresApproval: false, approval: "pending" })).not.toMatch(/disabled=""[^>]*>Merge/);
  });

  it("says which files a merge would conflict in now, and the merge commit of a merged branch", () => {
    expect(render({ canWrite: true, code: { mergeable: false, conflicts: ["slug.py"] } })).toContain("Merging now would conflict in slug.py.");
    const merged = render({ canWrite: true, code: { merged: true, merged_sha: "fedcba9876543210" } });
    expect(merged).toContain("merged as fedcba9");
    expect(merged).toMatch(/disabled=""[^>]*>Merge into main/);
  });

  it("shows each command run's exit badge, duration and output as text, marked when truncated", () => {
    const html = render({ canWrite: false });
    expect(html).toContain("python -m pytest -q");
    expect(html).toContain('class="badge failed">exit 1<');
    expect(html).toContain("1.5 s");
    expect(html).toContain("truncated");
    expect(html).toContain("&lt;b&gt;1 failed&lt;/b&gt;");
    const stopped = render({ canWrite: false, commands: [{ ...COMMAND, exit_code: 137, killed_reason: "file_size" }] });
    expect(stopped).toContain('class="badge stopped">stopped: file size limit<');
  });

  it("says when there is nothing yet", () => {
    const html = render({ canWrite: true, code: { exists: false, commits: [], files: [], diff: "" }, commands: [] });
    expect(html).toContain("No commits yet");
    expect(html).toContain("No commands run yet.");
    expect(html).not.toContain("Merge into");
  });
});
