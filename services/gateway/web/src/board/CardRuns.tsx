// The drawer's Runs: the live terminal, the card's runs with their cost and price, running an agent by hand,
// and the project documents the runs wrote.

import { useQueries } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api } from "../api/client";
import { ACTIVE_RUN, documentPath, keys, useAction, useAgentConfigs, useDocuments, versionsQuery } from "../api/hooks";
import type { CardRuns, Run } from "../api/types";
import { agentName } from "../lib/agents";
import { formatCost, formatPrice } from "../lib/money";
import { runReason } from "../lib/runReasons";
import { formatMoment } from "../lib/time";
import { CardTerminal } from "../terminal/Terminal";
import { ErrorNote, Loaded } from "../ui";
import { runStateClass, runStateLabel } from "./runState";

export interface RunsPanelProps {
  cardId: string;
  projectId: string;
  workspaceId: string;
  runs: { data: CardRuns | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  canRun: boolean;
  onRunsChanged: () => void;
  onEffects: () => void;
}

export function RunsPanel(props: RunsPanelProps) {
  const { cardId, runs, canRun } = props;
  return (
    <>
      <CardTerminal cardId={cardId} onStatus={props.onRunsChanged} onStep={props.onEffects} />
      <Loaded query={runs} label="Loading runs…">
        {(data) => <RunsTable runs={data.runs} totalPrice={data.total_price} totalCost={data.total_cost} canRun={canRun} onChange={props.onRunsChanged} />}
      </Loaded>
      {canRun ? <RunAgent cardId={cardId} projectId={props.projectId} onStarted={props.onRunsChanged} /> : null}
      <Artifacts projectId={props.projectId} workspaceId={props.workspaceId} runIds={runs.data?.runs.map((r) => r.id) ?? []} />
    </>
  );
}

/** Posts a run action (approve, reject, cancel, re-run) and keeps its error to show in place. */
export function useRunAction(onChange: () => void) {
  const [error, setError] = useState<unknown>(null);
  async function act(path: string, body: object = {}): Promise<boolean> {
    setError(null);
    try {
      await api(path, { method: "POST", body });
      onChange();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    }
  }
  return { act, error };
}

function RunsTable(props: { runs: Run[]; totalPrice: string; totalCost: string | null; canRun: boolean; onChange: () => void }) {
  const { act, error } = useRunAction(props.onChange);
  if (props.runs.length === 0) return <p className="muted">No runs yet. Move the card into an agent's lane, or run one below.</p>;
  return (
    <>
      <div className="table-wrap">
        <table className="runs">
          <thead>
            <tr>
              <th>Agent</th>
              <th>State</th>
              <th className="num">Tokens in / out</th>
              <th className="num">Cost</th>
              <th className="num">Price</th>
              {props.canRun ? (
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {props.runs.map((run) => (
              <tr key={run.id} data-testid="run-row">
                <td>
                  {agentName(run.agent)}
                  <span className="muted small block">{run.provider ? `${run.provider} / ${run.model}` : "—"}</span>
                </td>
                <td>
                  <RunStatus run={run} />
                </td>
                <td className="num">
                  {run.input_tokens} / {run.output_tokens}
                </td>
                <td className="num">{formatCost(run.cost)}</td>
                <td className="num" data-testid="run-price">
                  {formatPrice(run.price)}
                </td>
                {props.canRun ? (
                  <td>
                    {ACTIVE_RUN.has(run.status) ? (
                      <button type="button" className="link" onClick={() => void act(`/api/runs/${run.id}/cancel`)}>
                        Cancel
                      </button>
                    ) : (
                      <button type="button" className="link" onClick={() => void act(`/api/runs/${run.id}/rerun`)}>
                        Re-run
                      </button>
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={3}>Total</td>
              <td className="num">{formatCost(props.totalCost)}</td>
              <td className="num" data-testid="card-total-price">
                {formatPrice(props.totalPrice)}
              </td>
              {props.canRun ? <td /> : null}
            </tr>
          </tfoot>
        </table>
      </div>
      <ErrorNote error={error} />
    </>
  );
}

/** A run's state in one phrase, and for a run that did not run or did not finish, why: in the row, not only on hover. */
export function RunStatus({ run }: { run: Pick<Run, "status" | "error_code" | "reason"> & Partial<Pick<Run, "approval" | "approval_comment">> }) {
  const why = runReason(run.status, run.error_code, run.reason);
  const held = { status: run.status, approval: run.approval ?? null };
  return (
    <>
      <span
        className={runStateClass(held)}
        title={run.approval_comment || undefined}
        data-testid={run.approval ? "run-approval" : undefined}
      >
        {runStateLabel(held)}
      </span>
      {why ? (
        <span className="run-reason small" data-testid="run-reason">
          {why}
        </span>
      ) : null}
    </>
  );
}

export function RejectForm({ onReject, onCancel }: { onReject: (comment: string) => Promise<unknown>; onCancel: () => void }) {
  const [comment, setComment] = useState("");
  return (
    <form
      className="stack"
      aria-label="Reject the run"
      onSubmit={(event) => {
        event.preventDefault();
        void onReject(comment.trim());
      }}
    >
      <textarea
        aria-label="What should change"
        rows={2}
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        placeholder="What should the agent change? It runs again with this."
        required
        autoFocus
      />
      <div className="row">
        <button type="submit" className="primary" disabled={!comment.trim()}>
          Reject and redo
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The id of the agent picker, which the drawer's "Run agent" action focuses. */
export const RUN_AGENT_PICKER = "run-agent-picker";

function RunAgent({ cardId, projectId, onStarted }: { cardId: string; projectId: string; onStarted: () => void }) {
  const agents = useAgentConfigs(projectId);
  const [agent, setAgent] = useState("");
  const [instructions, setInstructions] = useState("");
  const run = useAction(
    () => api(`/api/cards/${cardId}/agents/${agent}/run`, { method: "POST", body: { instructions } }),
    [keys.cardRuns(cardId)],
  );
  const enabled = agents.data?.filter((a) => a.enabled) ?? [];
  return (
    <form
      className="stack"
      aria-label="Run an agent"
      onSubmit={(event) => {
        event.preventDefault();
        run.mutate(undefined, {
          onSuccess: () => {
            setInstructions("");
            onStarted();
          },
        });
      }}
    >
      <h4>Run an agent</h4>
      <div className="row">
        <select id={RUN_AGENT_PICKER} aria-label="Agent" value={agent} onChange={(e) => setAgent(e.target.value)} required>
          <option value="">Choose an agent…</option>
          {enabled.map((a) => (
            <option key={a.agent} value={a.agent}>
              {a.display_name} ({a.provider} / {a.model})
            </option>
          ))}
        </select>
        <button type="submit" disabled={!agent || run.isPending}>
          {run.isPending ? "Starting…" : "Run"}
        </button>
      </div>
      <textarea aria-label="Instructions" rows={2} placeholder="Extra instructions (optional)" value={instructions} onChange={(e) => setInstructions(e.target.value)} />
      <ErrorNote error={run.error} />
    </form>
  );
}

/** Versions of the project's own documents the card's runs wrote (the card's own documents are listed apart). */
function Artifacts({ projectId, workspaceId, runIds }: { projectId: string; workspaceId: string; runIds: string[] }) {
  const documents = useDocuments(projectId);
  const projectDocuments = (documents.data ?? []).filter((doc) => !doc.card_id);
  const versions = useQueries({
    queries: projectDocuments.map((doc) => ({ ...versionsQuery(documentPath(projectId, doc)), enabled: runIds.length > 0 })),
  });
  const wanted = new Set(runIds);
  const written = projectDocuments.flatMap((doc, i) =>
    (versions[i]?.data ?? []).filter((v) => v.source_run_id && wanted.has(v.source_run_id)).map((v) => ({ doc, v })),
  );
  if (written.length === 0) return null;
  return (
    <div>
      <h4>Artifacts</h4>
      <ul>
        {written.map(({ doc, v }) => (
          <li key={`${doc.kind}-${v.version}`}>
            <Link to={`/w/${workspaceId}/p/${projectId}/documents?kind=${doc.kind}&version=${v.version}`}>
              {doc.title} v{v.version}
            </Link>{" "}
            <span className="muted">{formatMoment(v.created_at)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
