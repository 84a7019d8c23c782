import { describe, expect, it } from "vitest";
import { backoff, linesOf, MarkerLog, onClose, RunAgents, statusMarker, TerminalCursor, terminalUrl } from "./resume";

const line = (run: string, seq: number) => ({ type: "line" as const, run_id: run, seq, text: `line ${seq}` });

describe("TerminalCursor", () => {
  it("shows each line once across a reconnect that replays what was already shown", () => {
    const cursor = new TerminalCursor();
    const shown = [1, 2, 3, 2, 3, 4].map((seq) => line("r1", seq)).filter((m) => cursor.accept(m)).map((m) => m.seq);
    expect(shown).toEqual([1, 2, 3, 4]);
  });
  it("keeps one position per run and resumes from all of them", () => {
    const cursor = new TerminalCursor();
    [line("r1", 1), line("r1", 2), line("r2", 1)].forEach((m) => cursor.accept(m));
    expect(cursor.after()).toBe("r1:2,r2:1");
    expect(cursor.lastSeq("r3")).toBe(0);
    expect(new TerminalCursor().after()).toBe("");
  });
  it("builds the socket address with the cursor, on ws or wss like the page", () => {
    expect(terminalUrl({ protocol: "http:", host: "localhost:8080" }, "c1", "r1:2,r2:1")).toBe(
      "ws://localhost:8080/api/cards/c1/terminal?after=r1%3A2%2Cr2%3A1",
    );
    expect(terminalUrl({ protocol: "https:", host: "aw.example" }, "c1", "")).toBe("wss://aw.example/api/cards/c1/terminal");
  });
});

describe("linesOf", () => {
  it("unpacks batched frames into lines the cursor dedupes like single ones", () => {
    const cursor = new TerminalCursor();
    const batch = { type: "lines" as const, run_id: "r1", lines: [1, 2, 3].map((seq) => ({ seq, text: `l${seq}` })) };
    const shown = [...linesOf(batch), ...linesOf(line("r1", 3)), ...linesOf({ ...batch, lines: [{ seq: 4, text: "l4" }] })]
      .filter((m) => cursor.accept(m))
      .map((m) => `${m.run_id}:${m.seq}`);
    expect(shown).toEqual(["r1:1", "r1:2", "r1:3", "r1:4"]);
    expect(linesOf({ type: "ping" })).toEqual([]);
  });
});

describe("onClose", () => {
  it("retries drops with growing, capped backoff and a slow-client cut at once", () => {
    expect(onClose(1006, 0)).toEqual({ retry: true, delayMs: 250, message: "Connection lost; reconnecting…" });
    expect(onClose(1006, 3)).toMatchObject({ retry: true, delayMs: 2000 });
    expect(backoff(20)).toBe(10_000);
    expect(onClose(4008, 5)).toEqual({ retry: true, delayMs: 0, message: "Catching up…" });
  });
  it("stops when retrying cannot help", () => {
    expect(onClose(4401, 0)).toMatchObject({ retry: false });
    expect(onClose(4404, 0)).toEqual({ retry: false, message: "This card no longer exists." });
  });
});

describe("status markers", () => {
  it("marks the end of a run clearly, once", () => {
    const finished = { type: "status" as const, run_id: "r1", agent: "prd", status: "completed", last_seq: 9 };
    expect(statusMarker(finished)).toContain("PRD run finished");
    expect(statusMarker({ ...finished, status: "failed" })).toContain("PRD run failed");
    expect(statusMarker({ ...finished, status: "queued" })).toBeNull();
    const markers = new MarkerLog();
    expect([markers.first(finished), markers.first(finished), markers.first({ ...finished, status: "failed" })]).toEqual([
      true,
      false,
      true,
    ]);
  });
});

describe("RunAgents", () => {
  it("labels each raw line with the agent of its run once a frame has named it", () => {
    const agents = new RunAgents();
    expect(agents.render(line("r1", 1))).toBe("line 1");
    const started = { type: "status" as const, run_id: "r1", agent: "dev_backend", status: "running", last_seq: null };
    agents.learn(started);
    agents.learn({ ...started, run_id: "r2", agent: "dev_frontend" });
    expect(agents.render(line("r1", 2))).toBe("\x1b[2m[Backend developer]\x1b[0m line 2");
    expect(agents.render({ ...line("r2", 1), stream: "stderr" })).toBe("\x1b[2m[Frontend developer]\x1b[0m \x1b[31mline 1\x1b[0m");
  });
});
