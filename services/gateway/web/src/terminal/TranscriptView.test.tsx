import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Markdown } from "../lib/Markdown";
import type { AgentTranscripts } from "./transcript";
import { AgentTranscript, TranscriptTabs, ToolCallView } from "./TranscriptView";

const prd: AgentTranscripts = {
  agent: "prd",
  runs: [
    {
      runId: "r1",
      agent: "prd",
      status: "running",
      reasonCode: null,
      reason: null,
      steps: [
        {
          step: 1,
          at: "2026-12-06T07:00:00Z",
          durationMs: 40,
          text: "## Plan\n\nI will **write** the PRD.\n\n- first\n- second",
          toolCalls: [
            { call_id: "c1", tool: "write_document", arguments: { name: "prd" }, ok: true, result: "version 2", error: null, duration_ms: 17 },
            { call_id: "c2", tool: "read_card", arguments: {}, ok: false, result: "", error: "card not found", duration_ms: 3 },
          ],
        },
      ],
    },
  ],
};

describe("AgentTranscript", () => {
  it("renders the prose as Markdown and each tool call as a collapsed step with its error in place", () => {
    const html = renderToStaticMarkup(<AgentTranscript transcripts={prd} />);
    expect(html).toContain("<h2>Plan</h2>");
    expect(html).toContain("<strong>write</strong>");
    expect(html).toContain("<li>first</li>");
    expect(html.match(/<details/g)).toHaveLength(2);
    expect(html).not.toContain("<details open");
    expect(html).toContain("<code>write_document</code>");
    expect(html).toContain("17 ms");
    expect(html).toContain("version 2");
    expect(html).toMatch(/class="tool-call failed".*card not found/s);
  });
  it("says why a skipped agent did not run", () => {
    const skipped: AgentTranscripts = {
      agent: "designer",
      runs: [{ runId: "r2", agent: "designer", status: "skipped", reasonCode: "quota_exceeded", reason: "The workspace's quota is spent.", steps: [] }],
    };
    expect(renderToStaticMarkup(<AgentTranscript transcripts={skipped} />)).toContain(
      "Designer did not run (hourly run quota reached: The workspace&#x27;s quota is spent.)",
    );
  });
  it("says why the provider kept an agent from running, why a refused one did not run and why a run failed", () => {
    const qa: AgentTranscripts = {
      agent: "qa",
      runs: [
        { runId: "r3", agent: "qa", status: "skipped", reasonCode: "circuit_open", reason: "openai keeps failing for gpt-5.", steps: [] },
        { runId: "r4", agent: "qa", status: "refused", reasonCode: "budget_exceeded", reason: "Raise the cap.", steps: [] },
        { runId: "r5", agent: "qa", status: "failed", reasonCode: "circuit_open", reason: "openai keeps failing for gpt-5.", steps: [] },
      ],
    };
    const html = renderToStaticMarkup(<AgentTranscript transcripts={qa} />);
    expect(html).toContain("QA did not run (provider failing: openai keeps failing for gpt-5.)");
    expect(html).toContain("QA did not run (budget spent: Raise the cap.)");
    expect(html).toContain("Run failed (provider failing: openai keeps failing for gpt-5.)");
    expect(html).not.toContain("Run refused.");
  });
});

describe("TranscriptTabs", () => {
  it("has a tab per agent and the raw log, the chosen one selected", () => {
    const designer: AgentTranscripts = { agent: "ux_designer", runs: [] };
    const html = renderToStaticMarkup(<TranscriptTabs agents={[prd, designer]} selected="ux_designer" onSelect={() => undefined} />);
    const tabs = [...html.matchAll(/aria-selected="(\w+)"[^>]*>([^<]+)</g)].map((m) => [m[2], m[1]]);
    expect(tabs).toEqual([
      ["PRD", "false"],
      ["ux designer", "true"],
      ["Raw log", "false"],
    ]);
  });
});

describe("Markdown", () => {
  it("renders no raw HTML and no script links from untrusted text", () => {
    const html = renderToStaticMarkup(<Markdown text={'<img src=x onerror="alert(1)"><script>alert(2)</script>\n\n[x](javascript:alert(3))'} />);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    expect(html).not.toContain("javascript:");
  });
});

describe("ToolCallView", () => {
  it("shows text arguments as written and others as JSON", () => {
    const call = { call_id: "c", tool: "write_document", arguments: { content: "# Notes\n\nLine two", tags: ["a"] }, ok: true, result: "ok", error: null, duration_ms: 1 };
    const html = renderToStaticMarkup(<ToolCallView call={call} />);
    expect(html).toContain("<code>content</code></dt><dd><pre># Notes\n\nLine two</pre>");
    expect(html).toContain("<pre>[\n  &quot;a&quot;\n]</pre>");
  });
});
