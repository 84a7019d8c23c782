import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type MouseEvent } from "react";
import { api } from "../api/client";
import { keys, useCardRuns } from "../api/hooks";
import type { Board, Card, Run } from "../api/types";
import { agentName } from "../lib/agents";
import { ErrorNote, Loaded } from "../ui";
import { RejectForm, RUN_AGENT_PICKER, useRunAction } from "./CardRuns";
import { DRAWER_SECTIONS, type DrawerContext } from "./drawerSections";
import { latestRunState, pendingApprovals } from "./runState";
import { cardPath } from "./address";

interface DrawerProps {
  /** The drawer's element id (the board's separator controls it). */
  id: string;
  cardId: string;
  projectId: string;
  workspaceId: string;
  board: Board;
  canWrite: boolean;
  canRun: boolean;
  onClose: () => void;
}

/** The open card: a header that always shows its title, lane, state and actions, over its sections. Laid out as
 * an overlay panel on wide screens, a split on tablets and a full-screen sheet on phones (styles.css). */
export function CardDrawer(props: DrawerProps) {
  const { cardId, onClose } = props;
  const card = useQuery({ queryKey: ["card", cardId], queryFn: () => api<Card>(`/api/cards/${cardId}`) });
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && !event.defaultPrevented && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  return (
    <aside id={props.id} className="drawer" aria-label="Card details" data-testid="drawer">
      <Loaded query={card} label="Loading the card…">
        {(data) => <CardDetails {...props} card={data} />}
      </Loaded>
      {card.data ? null : <CloseButton onClose={onClose} floating />}
    </aside>
  );
}

function CloseButton({ onClose, floating = false }: { onClose: () => void; floating?: boolean }) {
  return (
    <button type="button" className={floating ? "close floating" : "close"} onClick={onClose} aria-label="Close card" title="Close (Esc)">
      ×
    </button>
  );
}

/** What a run's change of state may have changed beyond the card: its runs, the board, and the project's documents
 * a single-call run writes on completion (the drawer's artifacts). */
export function afterRunChange(cardId: string, boardId: string, projectId: string): readonly (readonly string[])[] {
  return [keys.cardRuns(cardId), keys.board(boardId), keys.documents(projectId), ["versions", projectId]];
}

function CardDetails(props: DrawerProps & { card: Card }) {
  const { card } = props;
  const client = useQueryClient();
  const runs = useCardRuns(card.id);
  const refreshEffects = () => {
    void client.invalidateQueries({ queryKey: keys.children(card.id) });
    void client.invalidateQueries({ queryKey: keys.cardDocuments(card.id) });
    void client.invalidateQueries({ queryKey: keys.comments(card.id) });
    void client.invalidateQueries({ queryKey: keys.images(card.id) });
  };
  const refreshRuns = () => {
    for (const queryKey of afterRunChange(card.id, props.board.id, props.projectId)) void client.invalidateQueries({ queryKey });
    refreshEffects();
  };
  // The live board hears a card's changes first (a run's card.update, another person's edit): read the card again.
  const live = props.board.lanes.flatMap((l) => l.cards).find((c) => c.id === card.id);
  const liveChanged = live !== undefined && live.updated_at !== card.updated_at;
  useEffect(() => {
    if (liveChanged) void client.invalidateQueries({ queryKey: ["card", card.id] });
  }, [liveChanged, client, card.id, live?.updated_at]);
  // A run's state reaches the board first too (its runs summary): the header's state follows it at once.
  const liveRunState = live?.runs ? `${live.runs.last_status}:${live.runs.awaiting_approval}:${live.runs.total_price}` : null;
  useEffect(() => {
    if (liveRunState) void client.invalidateQueries({ queryKey: keys.cardRuns(card.id) });
  }, [client, card.id, liveRunState]);

  // The live board knows where the card is now (a move by a run or another person reaches it first).
  const lane = props.board.lanes.find((l) => l.cards.some((c) => c.id === card.id)) ?? props.board.lanes.find((l) => l.id === card.lane_id);
  const context: DrawerContext = { ...props, lane, runs, refreshRuns, refreshEffects };
  return (
    <>
      <DrawerHeader context={context} title={live?.title ?? card.title} onClose={props.onClose} />
      <div className="drawer-body">
        {DRAWER_SECTIONS.map((section) => (
          <section key={section.id} id={`drawer-${section.id}`} className="drawer-section" aria-labelledby={`drawer-${section.id}-title`}>
            <h3 id={`drawer-${section.id}-title`}>{section.title}</h3>
            {section.render(context)}
          </section>
        ))}
      </div>
    </>
  );
}

function DrawerHeader({ context, title, onClose }: { context: DrawerContext; title: string; onClose: () => void }) {
  const { card, lane } = context;
  const heading = useRef<HTMLHeadingElement>(null);
  // Focus moves into the drawer when it opens (and to the new card when another one is opened in it).
  useEffect(() => heading.current?.focus(), [card.id]);
  const runs = context.runs.data?.runs ?? [];
  const state = latestRunState(runs, agentName);
  return (
    <header className="drawer-head">
      <div className="drawer-title-row">
        <h2 ref={heading} tabIndex={-1} className="drawer-title" data-testid="drawer-title">
          {title}
        </h2>
        <CloseButton onClose={onClose} />
      </div>
      <p className="drawer-state">
        <span data-testid="drawer-lane">{lane ? `Lane ${lane.number} · ${lane.name}` : "No lane"}</span>
        <CopyLink path={cardPath(context.workspaceId, card.project_id, card.human_id)} shortId={card.human_id} />
        {state ? (
          <span className={`state-pill ${runs[0]?.approval ? `approval-${runs[0].approval}` : runs[0]?.status}`} data-testid="drawer-state">
            {state}
          </span>
        ) : null}
      </p>
      <DrawerActions context={context} runs={runs} />
      <nav className="drawer-nav" aria-label="Card sections">
        {DRAWER_SECTIONS.map((section) => (
          <a key={section.id} href={`#drawer-${section.id}`} onClick={(event) => jumpTo(event, `drawer-${section.id}`)}>
            {section.title}
          </a>
        ))}
      </nav>
    </header>
  );
}

/** Copies the card's address by its short id, which opens it for anyone of the workspace. */
function CopyLink({ path, shortId }: { path: string; shortId: string }) {
  const [copied, setCopied] = useState<"no" | "yes" | "failed">("no");
  const link = `${window.location.origin}${path}`;
  useEffect(() => setCopied("no"), [shortId]);
  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
      setCopied("yes");
    } catch {
      setCopied("failed"); // no clipboard permission: the link is shown to copy by hand
    }
  }
  return (
    <span className="copy-link">
      <span className="human-id" data-testid="drawer-human-id">
        {shortId}
      </span>
      <button type="button" className="link" onClick={() => void copy()} data-link={link}>
        Copy link
      </button>
      <span role="status" className="muted small">
        {copied === "yes" ? "Link copied" : copied === "failed" ? `Copy this link: ${link}` : ""}
      </span>
    </span>
  );
}

/** Scrolls the drawer (not the page) to a section and moves focus there. */
function jumpTo(event: MouseEvent, id: string) {
  event.preventDefault();
  const target = document.getElementById(id);
  if (!target) return;
  target.scrollIntoView({ block: "start" });
  target.querySelector<HTMLElement>("h3")?.setAttribute("tabindex", "-1");
  target.querySelector<HTMLElement>("h3")?.focus({ preventScroll: true });
}

/** Approve / Reject each run a gate holds, and Run agent: in the header, so always in view. */
function DrawerActions({ context, runs }: { context: DrawerContext; runs: Run[] }) {
  const { act, error } = useRunAction(context.refreshRuns);
  const [rejecting, setRejecting] = useState<string | null>(null);
  const canDecide = context.canWrite && context.canRun;
  const pending = canDecide ? pendingApprovals(runs) : [];
  const named = pending.length > 1;
  if (pending.length === 0 && !context.canRun) return null;
  return (
    <div className="drawer-actions-wrap">
      <div className="drawer-actions" role="group" aria-label="Card actions">
        {pending.map((run) => (
          <span key={run.id} className="decision">
            <button type="button" className="primary" onClick={() => void act(`/api/runs/${run.id}/approve`)} aria-label={named ? `Approve ${agentName(run.agent)}'s run` : undefined}>
              Approve{named ? ` ${agentName(run.agent)}` : ""}
            </button>
            <button type="button" className="danger" onClick={() => setRejecting(run.id)} aria-label={named ? `Reject ${agentName(run.agent)}'s run` : undefined}>
              Reject{named ? ` ${agentName(run.agent)}` : ""}
            </button>
          </span>
        ))}
        {context.canRun ? (
          <button type="button" onClick={() => jumpToRunAgent()}>
            Run agent
          </button>
        ) : null}
      </div>
      {rejecting ? (
        <RejectForm onCancel={() => setRejecting(null)} onReject={async (comment) => (await act(`/api/runs/${rejecting}/reject`, { comment })) && setRejecting(null)} />
      ) : null}
      <ErrorNote error={error} />
    </div>
  );
}

function jumpToRunAgent() {
  const picker = document.getElementById(RUN_AGENT_PICKER);
  picker?.scrollIntoView({ block: "center" });
  picker?.focus({ preventScroll: true });
}
