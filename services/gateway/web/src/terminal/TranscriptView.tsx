import { Markdown } from "../lib/Markdown";
import { runReason } from "../lib/runReasons";
import type { AgentTranscripts, RunTranscript, ToolCall, TranscriptStep } from "./transcript";
import { agentName } from "../lib/agents";

export const RAW_LOG = "raw";


/** Tabs: one per agent of the card's runs, and the raw log. */
export function TranscriptTabs(props: { agents: AgentTranscripts[]; selected: string; onSelect: (tab: string) => void }) {
  const tabs = [...props.agents.map((a) => ({ id: a.agent, label: agentName(a.agent) })), { id: RAW_LOG, label: "Raw log" }];
  return (
    <div className="tabs" role="tablist" aria-label="Transcripts">
      {tabs.map((tab) => (
        <button
          key={tab.id}
          type="button"
          role="tab"
          aria-selected={tab.id === props.selected}
          className={tab.id === props.selected ? "tab active" : "tab"}
          onClick={() => props.onSelect(tab.id)}
          data-testid="transcript-tab"
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

/** One agent's runs on the card: each step's prose as Markdown and its tool calls as collapsible steps. */
export function AgentTranscript({ transcripts }: { transcripts: AgentTranscripts }) {
  return (
    <div className="transcript" role="tabpanel" aria-label={`${agentName(transcripts.agent)} transcript`} data-testid="transcript">
      {transcripts.runs.map((run) => (
        <RunView key={run.runId} run={run} />
      ))}
    </div>
  );
}

const DID_NOT_RUN = new Set(["skipped", "refused"]);

function RunView({ run }: { run: RunTranscript }) {
  const why = runReason(run.status, run.reasonCode, run.reason);
  return (
    <section className="transcript-run" data-run-id={run.runId}>
      {why && DID_NOT_RUN.has(run.status ?? "") ? (
        <p className="skip-reason" data-testid="skip-reason">
          {agentName(run.agent)} did not run ({why})
        </p>
      ) : null}
      {run.steps.map((step) => (
        <StepView key={step.step} step={step} />
      ))}
      {run.status === "failed" && why ? (
        <p className="run-failure" data-testid="run-failure">
          Run failed ({why})
        </p>
      ) : null}
      {run.status && !DID_NOT_RUN.has(run.status) && run.status !== "running" && !(run.status === "failed" && why) ? (
        <p className="muted small">Run {run.status}.</p>
      ) : null}
    </section>
  );
}

function StepView({ step }: { step: TranscriptStep }) {
  return (
    <div className="transcript-step" data-step={step.step}>
      {step.text ? <Markdown text={step.text} /> : null}
      {step.toolCalls.map((call) => (
        <ToolCallView key={call.call_id} call={call} />
      ))}
    </div>
  );
}

/** A tool call folded to its name, outcome and duration; open it for the arguments and the result. */
export function ToolCallView({ call }: { call: ToolCall }) {
  return (
    <details className={call.ok ? "tool-call" : "tool-call failed"} data-testid="tool-call">
      <summary>
        <code>{call.tool}</code> {call.ok ? "✓" : "✖"} <span className="muted small">{call.duration_ms} ms</span>
        {call.error ? <span className="tool-error"> {call.error}</span> : null}
      </summary>
      <h4>Arguments</h4>
      <ArgumentsView arguments={call.arguments} />
      <h4>Result</h4>
      <pre className="tool-result">{call.result || "—"}</pre>
    </details>
  );
}

/** Each argument by name: text as written (a document's Markdown keeps its lines), anything else as JSON. */
function ArgumentsView({ arguments: args }: { arguments: Record<string, unknown> }) {
  const entries = Object.entries(args);
  if (entries.length === 0) return <p className="muted small">None.</p>;
  return (
    <dl className="tool-arguments">
      {entries.map(([name, value]) => (
        <div key={name}>
          <dt>
            <code>{name}</code>
          </dt>
          <dd>
            <pre>{typeof value === "string" ? value : JSON.stringify(value, null, 2)}</pre>
          </dd>
        </div>
      ))}
    </dl>
  );
}
