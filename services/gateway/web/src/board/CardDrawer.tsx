import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../api/client";
import { ACTIVE_RUN, keys, useAction, useAgentConfigs, useCardRuns, useChildren, useDocuments, documentPath, versionsQuery } from "../api/hooks";
import type { CardUpdate } from "../api/generated/openapi/core";
import type { Board, Card, Run } from "../api/types";
import { formatCost, formatPrice } from "../lib/money";
import { runReason } from "../lib/runReasons";
import { CardTerminal } from "../terminal/Terminal";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded } from "../ui";
import { CardCode } from "./CardCode";
import { CardDocuments } from "./CardDocuments";
import { CardExtras } from "./CardExtras";
import { CARD_CHOICES, CHOICE_FIELDS, type ChoiceField } from "./cardChoices";
import { changedChoices, followCard, formOf, isDirty } from "./cardForm";
import { agentName } from "../lib/agents";

interface DrawerProps {
  cardId: string;
  projectId: string;
  workspaceId: string;
  board: Board;
  canWrite: boolean;
  canRun: boolean;
  onClose: () => void;
}

export function CardDrawer(props: DrawerProps) {
  const { cardId, onClose } = props;
  const card = useQuery({ queryKey: ["card", cardId], queryFn: () => api<Card>(`/api/cards/${cardId}`) });
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  return (
    <aside className="drawer" aria-label="Card details">
      <button type="button" className="close" onClick={onClose} aria-label="Close card">
        ×
      </button>
      <Loaded query={card} label="Loading the card…">
        {(data) => <CardDetails {...props} card={data} />}
      </Loaded>
    </aside>
  );
}

/** What a run's change of state may have changed beyond the card: its runs, the board, and the project's documents
 * a single-call run writes on completion (the drawer's artifacts). */
export function afterRunChange(cardId: string, boardId: string, projectId: string): readonly (readonly string[])[] {
  return [keys.cardRuns(cardId), keys.board(boardId), keys.documents(projectId), ["versions", projectId]];
}

function CardDetails(props: DrawerProps & { card: Card }) {
  const { card, canWrite, canRun } = props;
  const client = useQueryClient();
  const runs = useCardRuns(card.id);
  const refreshRuns = () => {
    for (const queryKey of afterRunChange(card.id, props.board.id, props.projectId)) void client.invalidateQueries({ queryKey });
    refreshEffects();
  };
  const refreshEffects = () => {
    void client.invalidateQueries({ queryKey: keys.children(card.id) });
    void client.invalidateQueries({ queryKey: keys.cardDocuments(card.id) });
    void client.invalidateQueries({ queryKey: keys.comments(card.id) });
    void client.invalidateQueries({ queryKey: keys.images(card.id) });
  };
  // The live board hears a card's changes first (a run's card.update, another person's edit): read the card again.
  const live = props.board.lanes.flatMap((l) => l.cards).find((c) => c.id === card.id);
  const liveChanged = live !== undefined && live.updated_at !== card.updated_at;
  useEffect(() => {
    if (liveChanged) void client.invalidateQueries({ queryKey: ["card", card.id] });
  }, [liveChanged, client, card.id, live?.updated_at]);
  // The live board knows where the card is now (a move by a run or another person reaches it first).
  const lane = props.board.lanes.find((l) => l.cards.some((c) => c.id === card.id)) ?? props.board.lanes.find((l) => l.id === card.lane_id);
  return (
    <div className="stack">
      <CardFields card={card} canWrite={canWrite} boardId={props.board.id} />
      <p className="muted">
        In <strong>{lane ? `${lane.number} ${lane.name}` : "—"}</strong> · created {formatMoment(card.created_at)}
      </p>
      {card.parent_id ? <ParentLink parentId={card.parent_id} /> : null}
      <CardTerminal cardId={card.id} onStatus={refreshRuns} onStep={refreshEffects} />
      <section>
        <h3>Runs</h3>
        <Loaded query={runs} label="Loading runs…">
          {(data) => (
            <RunsTable runs={data.runs} totalPrice={data.total_price} totalCost={data.total_cost} canRun={canRun} canDecide={canWrite && canRun} onChange={refreshRuns} />
          )}
        </Loaded>
      </section>
      {canRun ? <RunAgent cardId={card.id} projectId={props.projectId} onStarted={refreshRuns} /> : null}
      <Artifacts projectId={props.projectId} workspaceId={props.workspaceId} runIds={runs.data?.runs.map((r) => r.id) ?? []} />
      <CardExtras card={card} canWrite={canWrite} />
      <CardDocuments cardId={card.id} />
      <section>
        <h3>Code</h3>
        <CardCode cardId={card.id} projectId={props.projectId} lane={lane} canWrite={canWrite} />
      </section>
      <Children card={card} canWrite={canWrite} />
    </div>
  );
}

type CardPatch = Pick<CardUpdate, "title" | "description" | ChoiceField>;

function CardFields({ card, canWrite, boardId }: { card: Card; canWrite: boolean; boardId: string }) {
  const [form, setForm] = useState(() => formOf(card));
  const [shown, setShown] = useState(card);
  const [changedUnderEdit, setChangedUnderEdit] = useState(false);
  if (shown !== card) {
    // The saved card changed (a run's update, another person, this form's own save): follow it unless edited.
    const followed = followCard(form, shown, card);
    setShown(card);
    setForm(followed.form);
    setChangedUnderEdit(followed.changedUnderEdit);
  }
  const save = useAction(
    (body: CardPatch) => api<Card>(`/api/cards/${card.id}`, { method: "PATCH", body }),
    [["card", card.id], keys.board(boardId)],
  );
  const dirty = isDirty(form, card);
  function submit(event: FormEvent) {
    event.preventDefault();
    const picked = Object.fromEntries(changedChoices(form, card).map((field) => [field, form.choices[field]]));
    save.mutate({ title: form.title.trim(), description: form.description, ...picked });
  }
  function takeSaved() {
    setForm(formOf(card));
    setChangedUnderEdit(false);
  }
  if (!canWrite) {
    return (
      <div>
        <h2>{card.title}</h2>
        <p className="muted">
          {CHOICE_FIELDS.map((field) => `${CARD_CHOICES[field].label}: ${card[field]}`).join(" · ")}
        </p>
        <p className="pre">{card.description || <span className="muted">No description.</span>}</p>
      </div>
    );
  }
  return (
    <form onSubmit={submit} className="stack" aria-label="Card fields">
      <input className="title-input" aria-label="Title" value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} required maxLength={200} />
      <div className="row">
        {CHOICE_FIELDS.map((field) => (
          <label key={field}>
            {CARD_CHOICES[field].label}{" "}
            <select aria-label={CARD_CHOICES[field].label} value={form.choices[field]} onChange={(e) => setForm({ ...form, choices: { ...form.choices, [field]: e.target.value } })}>
              {Object.entries(CARD_CHOICES[field].names).map(([value, name]) => (
                <option key={value} value={value}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <textarea aria-label="Description" rows={4} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} placeholder="Describe the work…" />
      {changedUnderEdit && dirty ? (
        <p className="note" role="status" data-testid="card-changed">
          The card changed while you were editing.{" "}
          <button type="button" className="link" onClick={takeSaved}>
            Show the saved card
          </button>
        </p>
      ) : null}
      <div className="row">
        <button type="submit" className="primary" disabled={!dirty || save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </button>
        {save.isSuccess && !dirty ? <span className="muted">Saved</span> : null}
      </div>
      <ErrorNote error={save.error} />
    </form>
  );
}

function RunsTable(props: {
  runs: Run[];
  totalPrice: string;
  totalCost: string | null;
  canRun: boolean;
  canDecide: boolean;
  onChange: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [rejecting, setRejecting] = useState<string | null>(null);
  async function act(path: string, body: object = {}) {
    setError(null);
    try {
      await api(path, { method: "POST", body });
      props.onChange();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    }
  }
  if (props.runs.length === 0) return <p className="muted">No runs yet. Move the card into an agent's lane, or run one below.</p>;
  return (
    <>
      <div className="table-wrap">
        <table className="runs">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Provider / model</th>
              <th>Status</th>
              <th className="num">Tokens in / out</th>
              <th className="num">Cost</th>
              <th className="num">Price</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {props.runs.map((run) => (
              <tr key={run.id} data-testid="run-row">
                <td>{agentName(run.agent)}</td>
                <td>{run.provider ? `${run.provider} / ${run.model}` : "—"}</td>
                <td>
                  <RunStatus run={run} />
                  {run.approval ? (
                    <span className={`approval ${run.approval}`} title={run.approval_comment || undefined} data-testid="run-approval">
                      {run.approval === "pending" ? "awaiting approval" : run.approval}
                    </span>
                  ) : null}
                </td>
                <td className="num">
                  {run.input_tokens} / {run.output_tokens}
                </td>
                <td className="num">{formatCost(run.cost)}</td>
                <td className="num" data-testid="run-price">
                  {formatPrice(run.price)}
                </td>
                <td>
                  {props.canDecide && run.approval === "pending" ? (
                    <>
                      <button type="button" className="link" onClick={() => void act(`/api/runs/${run.id}/approve`)}>
                        Approve
                      </button>
                      <button type="button" className="link danger" onClick={() => setRejecting(run.id)}>
                        Reject
                      </button>
                    </>
                  ) : null}
                  {props.canRun && ACTIVE_RUN.has(run.status) ? (
                    <button type="button" className="link" onClick={() => void act(`/api/runs/${run.id}/cancel`)}>
                      Cancel
                    </button>
                  ) : null}
                  {props.canRun && !ACTIVE_RUN.has(run.status) ? (
                    <button type="button" className="link" onClick={() => void act(`/api/runs/${run.id}/rerun`)}>
                      Re-run
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={4}>Total</td>
              <td className="num">{formatCost(props.totalCost)}</td>
              <td className="num" data-testid="card-total-price">
                {formatPrice(props.totalPrice)}
              </td>
              <td />
            </tr>
          </tfoot>
        </table>
      </div>
      {rejecting ? <RejectForm onCancel={() => setRejecting(null)} onReject={async (comment) => (await act(`/api/runs/${rejecting}/reject`, { comment })) && setRejecting(null)} /> : null}
      <ErrorNote error={error} />
    </>
  );
}

/** A run's status, and for a run that did not run or did not finish, why: in the row, not only on hover. */
export function RunStatus({ run }: { run: Pick<Run, "status" | "error_code" | "reason"> }) {
  const why = runReason(run.status, run.error_code, run.reason);
  return (
    <>
      <span className={`status ${run.status}`}>{run.status}</span>
      {why ? (
        <span className="run-reason small" data-testid="run-reason">
          {why}
        </span>
      ) : null}
    </>
  );
}

function RejectForm({ onReject, onCancel }: { onReject: (comment: string) => Promise<unknown>; onCancel: () => void }) {
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
      <textarea aria-label="What should change" rows={2} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="What should the agent change? It runs again with this." required />
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
      <h3>Run an agent</h3>
      <div className="row">
        <select aria-label="Agent" value={agent} onChange={(e) => setAgent(e.target.value)} required>
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
    <section>
      <h3>Artifacts</h3>
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
    </section>
  );
}

/** A link that opens another card of the board in the drawer. */
function CardLink({ cardId, title }: { cardId: string; title: string }) {
  const [search] = useSearchParams();
  const next = new URLSearchParams(search);
  next.set("card", cardId);
  return (
    <Link to={{ search: next.toString() }} data-testid="card-link">
      {title}
    </Link>
  );
}

function ParentLink({ parentId }: { parentId: string }) {
  const parent = useQuery({ queryKey: ["card", parentId], queryFn: () => api<Card>(`/api/cards/${parentId}`) });
  return (
    <p className="muted" data-testid="parent-card">
      Child of <CardLink cardId={parentId} title={parent.data?.title ?? "its parent card"} />
    </p>
  );
}

function Children({ card, canWrite }: { card: Card; canWrite: boolean }) {
  const children = useChildren(card.id);
  const [title, setTitle] = useState("");
  const add = useAction(
    () => api<Card>(`/api/projects/${card.project_id}/cards`, { method: "POST", body: { title: title.trim(), parent_id: card.id } }),
    [keys.children(card.id), keys.board(card.board_id)],
  );
  return (
    <section>
      <h3>Child cards</h3>
      <Loaded query={children} label="Loading child cards…">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {list.map((child) => (
                <li key={child.id}>
                  <CardLink cardId={child.id} title={child.title} />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {canWrite ? (
        <form
          className="row"
          onSubmit={(event) => {
            event.preventDefault();
            add.mutate(undefined, { onSuccess: () => setTitle("") });
          }}
        >
          <input aria-label="Child card title" placeholder="Add a child card…" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} />
          <button type="submit" disabled={!title.trim() || add.isPending}>
            Add
          </button>
        </form>
      ) : null}
      <ErrorNote error={add.error} />
    </section>
  );
}
