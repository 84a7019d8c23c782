// The terminal's resume logic, free of the DOM: which lines to show (each once, in order, across
// reconnects), what to ask for when reconnecting, when to retry, and the end-of-run markers.

import type { SkipReason } from "../lib/runReasons";
import type { StepMessage } from "./transcript";
import { agentName } from "../lib/agents";

export interface LineMessage {
  type: "line";
  run_id: string;
  seq: number;
  text: string;
  stream?: string;
  at?: string;
}

export interface StatusMessage {
  type: "status";
  run_id: string;
  agent: string;
  status: string;
  last_seq: number | null;
  /** Why the agent did not run (skipped or refused: a `SkipReason` of the contract, or a refusal's code) or why
   * it failed (its error code), and a sentence for people. */
  reason_code?: SkipReason | (string & {});
  reason?: string;
}

/** Consecutive lines of one run in one frame (how live output arrives). */
export interface LinesMessage {
  type: "lines";
  run_id: string;
  lines: { seq: number; text: string; stream?: string; at?: string }[];
}

export type TerminalMessage = LineMessage | LinesMessage | StatusMessage | StepMessage | { type: "ping" };

/** The lines a frame carries, one by one. */
export function linesOf(message: TerminalMessage): LineMessage[] {
  if (message.type === "line") return [message];
  if (message.type === "lines") return message.lines.map((line) => ({ type: "line", run_id: message.run_id, ...line }));
  return [];
}

export class TerminalCursor {
  private readonly seen = new Map<string, number>();

  /** True when the line is new (the next or a later seq of its run); repeats after a resume are dropped. */
  accept(message: LineMessage): boolean {
    const last = this.seen.get(message.run_id) ?? 0;
    if (message.seq <= last) return false;
    this.seen.set(message.run_id, message.seq);
    return true;
  }

  lastSeq(runId: string): number {
    return this.seen.get(runId) ?? 0;
  }

  /** The `after` query value that resumes exactly where the terminal left off ("run:seq,…"). */
  after(): string {
    return [...this.seen].map(([run, seq]) => `${run}:${seq}`).join(",");
  }
}

/** A WebSocket address on the page's own origin (wss on https). */
export function socketUrl(location: { protocol: string; host: string }, path: string): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
}

/** The card's terminal socket, resuming after `after` (lines, "run:seq,…") and `steps` (steps, "run:step,…"). */
export function terminalUrl(location: { protocol: string; host: string }, cardId: string, after: string, steps = ""): string {
  const query = new URLSearchParams();
  if (after) query.set("after", after);
  if (steps) query.set("steps", steps);
  const text = query.toString();
  return socketUrl(location, `/api/cards/${cardId}/terminal${text ? `?${text}` : ""}`);
}

export type CloseDecision = { retry: false; message: string } | { retry: true; delayMs: number; message: string };

const FINAL: Record<number, string> = {
  4401: "Signed out: sign in again to see this terminal.",
  4403: "You no longer have access to this card.",
  4404: "This card no longer exists.",
};

/** What to do when the socket closes: retry with backoff (immediately after a slow-client cut), or stop. */
export function onClose(code: number, attempt: number): CloseDecision {
  const final = FINAL[code];
  if (final) return { retry: false, message: final };
  if (code === 4008) return { retry: true, delayMs: 0, message: "Catching up…" };
  return { retry: true, delayMs: backoff(attempt), message: "Connection lost; reconnecting…" };
}

export function backoff(attempt: number): number {
  return Math.min(250 * 2 ** Math.max(0, attempt), 10_000);
}

const ANSI = { green: "\x1b[32m", red: "\x1b[31m", yellow: "\x1b[33m", cyan: "\x1b[36m", dim: "\x1b[2m", reset: "\x1b[0m" };

/** Which agent each run of the card is, learnt from the run's status and step frames, so the raw log can say
 * whose line it is when a lane's agents run side by side. */
export class RunAgents {
  private readonly agents = new Map<string, string>();

  learn(message: TerminalMessage): void {
    if (message.type === "status" || message.type === "step") this.agents.set(message.run_id, message.agent);
  }

  /** A raw-log line as the terminal prints it: its agent's name first when known, stderr in red. */
  render(line: LineMessage): string {
    const agent = this.agents.get(line.run_id);
    const label = agent ? `${ANSI.dim}[${agentName(agent)}]${ANSI.reset} ` : "";
    return label + (line.stream === "stderr" ? `${ANSI.red}${line.text}${ANSI.reset}` : line.text);
  }
}

/** The line the terminal prints when a run changes state; null for states that need no marker. */
export function statusMarker(message: StatusMessage): string | null {
  const agent = agentName(message.agent);
  switch (message.status) {
    case "running":
      return `${ANSI.cyan}▶ ${agent} run started${ANSI.reset}`;
    case "completed":
      return `${ANSI.green}■ ${agent} run finished${ANSI.reset}`;
    case "failed":
      return `${ANSI.red}✖ ${agent} run failed${ANSI.reset}`;
    case "cancelled":
      return `${ANSI.yellow}■ ${agent} run cancelled${ANSI.reset}`;
    case "skipped":
    case "refused":
      return `${ANSI.yellow}○ ${agent} did not run: ${message.reason ?? message.reason_code ?? "skipped"}${ANSI.reset}`;
    default:
      return null;
  }
}

/** Status markers are printed once per (run, status), however often the server repeats them. */
export class MarkerLog {
  private readonly printed = new Set<string>();

  first(message: StatusMessage): boolean {
    const key = `${message.run_id}:${message.status}`;
    if (this.printed.has(key)) return false;
    this.printed.add(key);
    return true;
  }
}
