import { describe, expect, it } from "vitest";
import { terminalUrl } from "./resume";
import { hasTranscript, Transcripts, type StepMessage } from "./transcript";

const part = (run: string, step: number, part = 0, parts = 1, extra: Partial<StepMessage> = {}): StepMessage => ({
  type: "step",
  run_id: run,
  agent: run.startsWith("d") ? "designer" : "prd",
  step,
  at: "2026-12-06T07:00:00Z",
  duration_ms: 12,
  part,
  parts,
  text: `text ${step}.${part} `,
  tool_calls: [],
  ...extra,
});

describe("Transcripts", () => {
  it("joins a step's parts in part order, whatever order they arrive in", () => {
    const transcripts = new Transcripts();
    const call = { call_id: "c1", tool: "read_document", arguments: {}, ok: true, result: "r", error: null, duration_ms: 3 };
    expect(transcripts.accept(part("p1", 1, 1, 2, { tool_calls: [call] }))).toBe(false);
    expect(transcripts.accept(part("p1", 1, 0, 2))).toBe(true);
    const [prd] = transcripts.byAgent();
    expect(prd!.runs[0]!.steps).toEqual([{ step: 1, at: "2026-12-06T07:00:00Z", durationMs: 12, text: "text 1.0 text 1.1 ", toolCalls: [call] }]);
  });
  it("shows each step once across a reconnect and resumes after the last whole step", () => {
    const transcripts = new Transcripts();
    [part("p1", 1), part("p1", 2), part("p1", 3, 0, 2)].forEach((m) => transcripts.accept(m));
    expect(transcripts.cursor()).toBe("p1:2");
    expect(transcripts.accept(part("p1", 2))).toBe(false); // replayed again
    [part("p1", 3, 0, 2), part("p1", 3, 1, 2)].forEach((m) => transcripts.accept(m)); // the cut step, resent whole
    expect(transcripts.byAgent()[0]!.runs[0]!.steps.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(terminalUrl({ protocol: "http:", host: "h" }, "c1", "p1:9", transcripts.cursor())).toBe(
      "ws://h/api/cards/c1/terminal?after=p1%3A9&steps=p1%3A3",
    );
  });
  it("groups runs by agent, so two agents of one lane get a tab each", () => {
    const transcripts = new Transcripts();
    [part("p1", 1), part("d1", 1), part("p1", 2)].forEach((m) => transcripts.accept(m));
    expect(transcripts.byAgent().map((a) => [a.agent, a.runs.map((r) => r.steps.length)])).toEqual([
      ["prd", [2]],
      ["designer", [1]],
    ]);
  });
  it("keeps a skipped run's reason", () => {
    const transcripts = new Transcripts();
    expect(hasTranscript(transcripts.byAgent())).toBe(false);
    transcripts.accept({ type: "status", run_id: "d1", agent: "designer", status: "skipped", last_seq: null, reason_code: "budget", reason: "Budget spent." });
    const [designer] = transcripts.byAgent();
    expect(designer!.runs[0]).toMatchObject({ status: "skipped", reasonCode: "budget", reason: "Budget spent." });
    expect(hasTranscript(transcripts.byAgent())).toBe(true);
  });
});
