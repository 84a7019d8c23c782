// The card's Code tab: its branch, the commits agents made there, the diff against the default branch, the
// commands they ran in the sandbox, and the Merge button. Everything from the repository is shown as text.

import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import { ACTIVE_RUN, keys, useAction, useCardCode, useCardCommands, useCardRuns } from "../api/hooks";
import type { CardCode as Code, CommandRun, MergeResult } from "../api/types";
import { agentName } from "../lib/agents";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded, Spinner } from "../ui";
import { conflictFiles, exitBadge, formatDuration, gatePending, mergeOffer, shortSha, subjectOf } from "./codeView";

// The diff engine and its grammars load with the tab, never with the board.
const CodeDiff = lazy(() => import("./CodeDiff"));

interface CardCodeProps {
  cardId: string;
  projectId: string;
  /** The lane the card is in now (its approval gate holds a merge). */
  lane: { requires_approval: boolean } | undefined;
  /** Members and owners merge; viewers never see the button. */
  canWrite: boolean;
}

export function CardCode({ cardId, projectId, lane, canWrite }: CardCodeProps) {
  const client = useQueryClient();
  const runs = useCardRuns(cardId);
  const running = runs.data?.runs.some((run) => ACTIVE_RUN.has(run.status)) ?? false;
  const code = useCardCode(cardId, running);
  const commands = useCardCommands(cardId, running);
  // A run that just ended may have committed or run a command after the last read.
  const wasRunning = useRef(running);
  useEffect(() => {
    if (wasRunning.current && !running) {
      void client.invalidateQueries({ queryKey: keys.cardCode(cardId) });
      void client.invalidateQueries({ queryKey: keys.cardCommands(cardId) });
    }
    wasRunning.current = running;
  }, [running, client, cardId]);
  const pending = gatePending(lane, runs.data?.runs ?? []);
  return (
    <div className="stack card-code" data-testid="card-code">
      <Loaded query={code} label="Loading the branch…">
        {(data) => (
          <>
            <Branch code={data} />
            {data.exists ? (
              <>
                <Merge cardId={cardId} projectId={projectId} code={data} canWrite={canWrite} pendingGate={pending} />
                <Commits commits={data.commits} />
                <Changes code={data} />
              </>
            ) : null}
          </>
        )}
      </Loaded>
      <h4>Commands</h4>
      <Loaded query={commands} label="Loading command runs…">
        {(list) => <CommandRuns runs={list} />}
      </Loaded>
    </div>
  );
}

function Branch({ code }: { code: Code }) {
  if (!code.exists) {
    return (
      <p className="muted" data-testid="code-branch">
        No commits yet: agents work on <code>{code.branch}</code>, made from <code>{code.base}</code> when the card reaches a build lane.
      </p>
    );
  }
  return (
    <p data-testid="code-branch">
      Branch <code>{code.branch}</code> from <code>{code.base}</code>
      {code.merged ? (
        <span className="badge ok">merged{code.merged_sha ? ` as ${shortSha(code.merged_sha)}` : ""}</span>
      ) : null}
    </p>
  );
}

function Merge({ cardId, projectId, code, canWrite, pendingGate }: { cardId: string; projectId: string; code: Code; canWrite: boolean; pendingGate: boolean }) {
  const merge = useAction(
    () => api<MergeResult>(`/api/cards/${cardId}/code/merge`, { method: "POST" }),
    [keys.cardCode(cardId), keys.repository(projectId)],
  );
  const offer = mergeOffer(canWrite, code, pendingGate);
  if (!offer.shown) return null;
  const conflicts = conflictFiles(merge.error);
  return (
    <div className="stack">
      <div className="row">
        <button type="button" className="primary" disabled={offer.blocked !== null || merge.isPending} onClick={() => merge.mutate(undefined)} aria-describedby={offer.blocked ? `merge-blocked-${cardId}` : undefined}>
          {merge.isPending ? "Merging…" : `Merge into ${code.base}`}
        </button>
        {offer.blocked ? (
          <span className="muted small" id={`merge-blocked-${cardId}`} data-testid="merge-blocked">
            {offer.blocked}
          </span>
        ) : null}
        {!offer.blocked && code.conflicts.length > 0 ? (
          <span className="warning small" data-testid="merge-conflicts-now">
            Merging now would conflict in {code.conflicts.join(", ")}.
          </span>
        ) : null}
      </div>
      {merge.isSuccess ? (
        <p className="note" role="status" data-testid="merge-result">
          Merged into {code.base} as <code>{shortSha(merge.data.merged_sha)}</code>.
        </p>
      ) : null}
      {conflicts.length > 0 ? (
        <div className="error-note" role="alert" data-testid="merge-conflict">
          The branch conflicts with {code.base} in these files; nothing was merged:
          <ul>
            {conflicts.map((file) => (
              <li key={file}>
                <code>{file}</code>
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <ErrorNote error={merge.error} />
      )}
    </div>
  );
}

function Commits({ commits }: { commits: Code["commits"] }) {
  return (
    <>
      <h4>Commits</h4>
      {commits.length === 0 ? (
        <p className="muted">No commits on the branch yet.</p>
      ) : (
        <ul className="commits">
          {commits.map((commit) => (
            <li key={commit.sha} data-testid="code-commit">
              <code title={commit.sha}>{shortSha(commit.sha)}</code> {subjectOf(commit.message)}{" "}
              <span className="muted small">
                {commit.author} · {formatMoment(commit.committed_at)}
                {commit.run_id ? (
                  <>
                    {" "}
                    · <RunLink runId={commit.run_id} />
                  </>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** The run that made a commit: a link to the drawer's Runs section, where its row, transcript and cost are. */
function RunLink({ runId }: { runId: string }) {
  return (
    <a
      href="#drawer-runs"
      title={`Run ${runId}`}
      data-testid="commit-run"
      onClick={(event) => {
        const runs = document.getElementById("drawer-runs");
        if (!runs) return;
        event.preventDefault();
        runs.scrollIntoView({ block: "start" });
      }}
    >
      run {runId.slice(0, 8)}
    </a>
  );
}

function Changes({ code }: { code: Code }) {
  const [viewType, setViewType] = useState<"unified" | "split">("unified");
  if (code.files.length === 0) return <p className="muted">No changes against {code.base}.</p>;
  return (
    <>
      <div className="row">
        <h4>Changes against {code.base}</h4>
        <div className="segmented" role="group" aria-label="Diff layout">
          <button type="button" aria-pressed={viewType === "unified"} onClick={() => setViewType("unified")}>
            Unified
          </button>
          <button type="button" aria-pressed={viewType === "split"} onClick={() => setViewType("split")}>
            Side by side
          </button>
        </div>
      </div>
      <ul className="changed-files">
        {code.files.map((file) => (
          <li key={file.path}>
            <code>{file.path}</code> <span className="muted small">{file.status}</span> {file.additions === null ? (
              <span className="muted small">binary</span>
            ) : (
              <>
                <span className="added-count">+{file.additions}</span> <span className="removed-count">−{file.deletions}</span>
              </>
            )}
          </li>
        ))}
      </ul>
      {code.truncated ? <p className="warning small">The diff is too long to show whole; the rest is cut off. Clone the branch to see all of it.</p> : null}
      <Suspense fallback={<Spinner label="Loading the diff viewer…" />}>
        <CodeDiff diff={code.diff} viewType={viewType} />
      </Suspense>
    </>
  );
}

function CommandRuns({ runs }: { runs: CommandRun[] }) {
  if (runs.length === 0) return <p className="muted">No commands run yet.</p>;
  return (
    <ul className="command-runs">
      {runs.map((run) => {
        const badge = exitBadge(run);
        return (
          <li key={run.id} data-testid="command-run">
            <div className="row">
              <code className="command">{run.command}</code>
              <span className={`badge ${badge.tone}`}>{badge.label}</span>
              <span className="muted small">
                {formatDuration(run.duration_ms)} · {agentName(run.agent)} · {formatMoment(run.started_at)}
              </span>
            </div>
            <details>
              <summary>Output{run.truncated ? " (truncated: the tail is shown)" : ""}</summary>
              <pre className="code-output">{run.output_tail || "(no output)"}</pre>
            </details>
          </li>
        );
      })}
    </ul>
  );
}
