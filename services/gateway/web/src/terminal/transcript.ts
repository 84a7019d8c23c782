// A tool-using run's transcript as the terminal socket sends it: each step in one or more `step` frames
// (part of parts) that join into the model's prose and its tool calls; runs grouped per agent for tabs.

import type { StatusMessage } from "./resume";

export interface ToolCall {
  call_id: string;
  tool: string;
  arguments: Record<string, unknown>;
  ok: boolean;
  result: string;
  error: string | null;
  duration_ms: number;
}

/** One part of a step: join a step's parts in `part` order, concatenating `text` and `tool_calls`. */
export interface StepMessage {
  type: "step";
  run_id: string;
  agent: string;
  step: number;
  at: string;
  duration_ms: number;
  part: number;
  parts: number;
  text: string;
  tool_calls: ToolCall[];
}

export interface TranscriptStep {
  step: number;
  at: string;
  durationMs: number;
  text: string;
  toolCalls: ToolCall[];
}

export interface RunTranscript {
  runId: string;
  agent: string;
  status: string | null;
  reasonCode: string | null;
  reason: string | null;
  steps: TranscriptStep[];
}

export interface AgentTranscripts {
  agent: string;
  runs: RunTranscript[];
}

/** Every run's steps on a card, each step once and whole, whatever parts a reconnect repeats. */
export class Transcripts {
  private readonly runs = new Map<string, RunTranscript>();
  private readonly parts = new Map<string, Map<number, StepMessage>>();
  private readonly whole = new Map<string, number>();

  /** Takes a step part or a run's status; true when what the transcript shows changed. */
  accept(message: StepMessage | StatusMessage): boolean {
    const run = this.run(message.run_id, message.agent);
    if (message.type === "status") {
      const changed = run.status !== message.status || run.reason !== (message.reason ?? null);
      run.status = message.status;
      run.reasonCode = message.reason_code ?? null;
      run.reason = message.reason ?? null;
      return changed;
    }
    if (message.step <= (this.whole.get(message.run_id) ?? 0)) return false;
    const key = `${message.run_id}:${message.step}`;
    const received = this.parts.get(key) ?? new Map<number, StepMessage>();
    received.set(message.part, message);
    this.parts.set(key, received);
    if (received.size < message.parts) return false;
    this.parts.delete(key);
    const ordered = [...received.values()].sort((a, b) => a.part - b.part);
    run.steps = [...run.steps, joined(ordered)].sort((a, b) => a.step - b.step);
    this.whole.set(message.run_id, Math.max(message.step, this.whole.get(message.run_id) ?? 0));
    return true;
  }

  /** The `steps` query value that resumes after the last whole step of each run ("run:step,…"). */
  cursor(): string {
    return [...this.whole].map(([run, step]) => `${run}:${step}`).join(",");
  }

  /** Runs grouped by agent, agents in the order they first appeared. */
  byAgent(): AgentTranscripts[] {
    const agents = new Map<string, RunTranscript[]>();
    for (const run of this.runs.values()) agents.set(run.agent, [...(agents.get(run.agent) ?? []), { ...run }]);
    return [...agents].map(([agent, runs]) => ({ agent, runs }));
  }

  private run(runId: string, agent: string): RunTranscript {
    let run = this.runs.get(runId);
    if (!run) {
      run = { runId, agent, status: null, reasonCode: null, reason: null, steps: [] };
      this.runs.set(runId, run);
    }
    return run;
  }
}

function joined(parts: StepMessage[]): TranscriptStep {
  const first = parts[0]!;
  return {
    step: first.step,
    at: first.at,
    durationMs: first.duration_ms,
    text: parts.map((p) => p.text).join(""),
    toolCalls: parts.flatMap((p) => p.tool_calls),
  };
}

/** Whether any run of the agents has something a transcript shows (steps, or a reason it did not run). */
export function hasTranscript(agents: AgentTranscripts[]): boolean {
  return agents.some((a) => a.runs.some((r) => r.steps.length > 0 || r.reason !== null));
}
