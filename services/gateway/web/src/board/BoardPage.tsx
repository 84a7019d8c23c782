import {
  closestCorners, DndContext, DragOverlay, KeyboardSensor, PointerSensor, useDroppable, useSensor, useSensors,
  type DragEndEvent, type DragStartEvent,
} from "@dnd-kit/core";
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from "@dnd-kit/sortable";
import { CSS } from "@dnd-kit/utilities";
import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { api, ApiError, errorText } from "../api/client";
import { keys, useAgentConfigs, useBoard } from "../api/hooks";
import type { AgentConfig, Board, Card, Label, Lane } from "../api/types";
import { formatPrice } from "../lib/money";
import { can, ErrorNote, Loaded, Spinner, usePlace } from "../ui";
import { LabelChip } from "./LabelChip";
import { CHOICE_FIELDS, choiceTag } from "./cardChoices";
import { useLiveBoard } from "./liveBoard";
import { agentsOfLane, dragAnnouncements, findCard, moveCard, resolveDrop, wipRefusal, type Place } from "./state";
import { BoardToolbar } from "./BoardToolbar";
import { filtersFromSearch, filtersToSearch, NO_FILTERS, visibleCards, type BoardFilters } from "./filters";
import { SHORTCUTS, shortcutOf } from "./shortcuts";
import { useCollapsedLanes } from "../lib/collapsed";
import { agentName } from "../lib/agents";
import { ArchivedCards } from "./ArchivedCards";
import { useCardNavigation } from "./cardNavigation";
import { OpenedCardLayout } from "./OpenedCardLayout";

// The palette loads when first asked for, not with the board.
const CommandPalette = lazy(() => import("./CommandPalette").then((m) => ({ default: m.CommandPalette })));

const LIFT_KEYS = { start: ["Space"], cancel: ["Escape"], end: ["Space"] };

interface Refusal {
  laneId: string;
  message: string;
}

export function BoardPage() {
  const { project, workspaceId, role } = usePlace();
  if (!project) return <Spinner label="Loading the project…" />;
  if (!project.board_id) return <p className="muted">This project has no board.</p>;
  return (
    <BoardView
      boardId={project.board_id}
      projectId={project.id}
      projectName={project.name}
      workspaceId={workspaceId}
      canWrite={can(role, "write")}
      canRun={can(role, "run")}
      canDelete={role === "owner"}
    />
  );
}

/** Whether the toolbar's "Archived" list is shown, kept in the address beside the filters. */
const ARCHIVED_PARAM = "archived";

function BoardView(props: { boardId: string; projectId: string; projectName: string; workspaceId: string; canWrite: boolean; canRun: boolean; canDelete: boolean }) {
  const { boardId, projectId, canWrite } = props;
  const client = useQueryClient();
  const board = useBoard(boardId);
  const [dragging, setDragging] = useState<string | null>(null);
  const draggingRef = useRef(false);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [search, setSearch] = useSearchParams();
  const cards = useCardNavigation(props.workspaceId, projectId);
  const showArchived = search.get(ARCHIVED_PARAM) === "1";
  const toggleArchived = () => {
    const next = new URLSearchParams(search);
    if (showArchived) next.delete(ARCHIVED_PARAM);
    else next.set(ARCHIVED_PARAM, "1");
    setSearch(next, { replace: true });
  };
  const filters = filtersFromSearch(search);
  // Typing a search replaces the address rather than adding a history entry per key.
  const setFilters = (next: BoardFilters) => setSearch(filtersToSearch(next, search), { replace: true });
  const { collapsed, toggle: toggleLane } = useCollapsedLanes(boardId);
  const searchBox = useRef<HTMLInputElement>(null);
  const [addingIn, setAddingIn] = useState<string | null>(null);
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const isDragging = useCallback(() => draggingRef.current, []);
  useLiveBoard(boardId, isDragging);
  const agents = useAgentConfigs(projectId);

  const announcements = useMemo(() => dragAnnouncements(() => client.getQueryData<Board>(keys.board(boardId))), [client, boardId]);
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 5 } }),
    // Space lifts and drops a card, Enter opens it: one key, one meaning.
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates, keyboardCodes: LIFT_KEYS }),
  );
  // Focus returns to a card after it is dropped or its drawer closes, once it is rendered where it now is.
  const [focusCardId, setFocusCardId] = useState<string | null>(null);
  useEffect(() => {
    if (!focusCardId) return;
    const element = document.querySelector<HTMLElement>(`[data-card-id="${window.CSS.escape(focusCardId)}"]`);
    if (element) {
      element.focus();
      setFocusCardId(null);
    }
  }, [focusCardId, board.data]);

  async function commitMove(current: Board, cardId: string, place: Place) {
    const refused = wipRefusal(current, cardId, place.laneId);
    if (refused) {
      setRefusal({ laneId: place.laneId, message: refused });
      setFocusCardId(cardId);
      return;
    }
    setRefusal(null);
    const key = keys.board(boardId);
    await client.cancelQueries({ queryKey: key });
    client.setQueryData<Board>(key, moveCard(current, cardId, place)); // optimistic
    setFocusCardId(cardId);
    try {
      await api(`/api/cards/${cardId}/move`, { method: "PUT", body: { lane_id: place.laneId, position: place.index } });
    } catch (error) {
      client.setQueryData<Board>(key, current); // roll back
      setFocusCardId(cardId);
      const message = error instanceof ApiError && error.code === "wip_limit_reached" ? error.message : `Move failed: ${errorText(error)}`;
      setRefusal({ laneId: place.laneId, message });
    } finally {
      void client.invalidateQueries({ queryKey: key });
    }
  }

  function onDragStart(event: DragStartEvent) {
    draggingRef.current = true;
    setDragging(String(event.active.id));
    setRefusal(null);
  }

  function onDragEnd(event: DragEndEvent) {
    draggingRef.current = false;
    setDragging(null);
    const current = client.getQueryData<Board>(keys.board(boardId));
    const cardId = String(event.active.id);
    const place = current && event.over ? resolveDrop(current, cardId, String(event.over.id)) : null;
    if (current && place) void commitMove(current, cardId, place);
    else setFocusCardId(cardId);
  }

  /** Opens a card of the board by its id (lanes and the palette know cards by id; the address by short id). */
  const open = (cardId: string) => {
    const current = client.getQueryData<Board>(keys.board(boardId));
    const found = current ? findCard(current, cardId) : null;
    if (found) cards.open(found.card.human_id);
  };

  /** Opens the quick add of the focused card's lane (or the first lane) and puts the cursor in it. */
  const createCard = () => {
    const data = board.data;
    if (!data || !canWrite) return;
    const focused = document.activeElement?.closest<HTMLElement>("[data-card-id]")?.dataset.cardId;
    const lane = (focused ? findCard(data, focused)?.lane : undefined) ?? data.lanes[0];
    if (!lane) return;
    if (collapsed.has(lane.id)) toggleLane(lane.id);
    setAddingIn(lane.id);
    // The form may only now be rendered: focus it once it is.
    requestAnimationFrame(() => document.getElementById(`add-card-${lane.id}`)?.focus());
  };
  const focusSearch = () => {
    searchBox.current?.focus();
    searchBox.current?.select();
  };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || draggingRef.current) return;
      const shortcut = shortcutOf(event);
      if (!shortcut) return;
      event.preventDefault();
      if (shortcut === "search") focusSearch();
      else if (shortcut === "create") createCard();
      else if (shortcut === "help") setHelpOpen(true);
      else setPaletteOpen((shown) => !shown);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <Loaded query={board} label="Loading the board…">
      {(data) => {
        const shown = visibleCards(data, filters);
        const total = data.lanes.reduce((sum, lane) => sum + lane.cards.length, 0);
        const count = [...shown.values()].reduce((sum, cards) => sum + cards.length, 0);
        return (
        <>
        <BoardToolbar
          ref={searchBox}
          title={props.projectName}
          labels={data.labels}
          workspaceId={props.workspaceId}
          filters={filters}
          shown={count}
          total={total}
          onChange={setFilters}
          archivedShown={showArchived}
          onToggleArchived={toggleArchived}
        />
        {showArchived ? (
          <ArchivedCards projectId={projectId} boardId={boardId} canWrite={canWrite} canDelete={props.canDelete} onOpen={cards.open} />
        ) : null}
        <OpenedCardLayout
          board={data}
          workspaceId={props.workspaceId}
          projectId={projectId}
          canWrite={canWrite}
          canRun={props.canRun}
          onClose={(cardId) => {
            if (cardId) setFocusCardId(cardId);
            cards.close();
          }}
        >
          <DndContext
            sensors={sensors}
            accessibility={{ announcements }}
            collisionDetection={closestCorners}
            onDragStart={onDragStart}
            onDragEnd={onDragEnd}
            onDragCancel={(event) => {
              draggingRef.current = false;
              setDragging(null);
              setFocusCardId(String(event.active.id));
            }}
          >
            <div className="board" role="list" aria-label={data.name}>
              {data.lanes.map((lane) => (
                <LaneColumn
                  key={lane.id}
                  lane={lane}
                  cards={shown.get(lane.id) ?? lane.cards}
                  collapsed={collapsed.has(lane.id)}
                  onToggle={() => toggleLane(lane.id)}
                  adding={lane.number === 0 || addingIn === lane.id}
                  onAdding={(on) => setAddingIn(on ? lane.id : null)}
                  agents={agentsOfLane(agents.data ?? [], lane.number)}
                  projectId={projectId}
                  boardId={boardId}
                  canWrite={canWrite}
                  refusal={refusal?.laneId === lane.id ? refusal.message : null}
                  onOpen={open}
                  labels={data.labels}
                />
              ))}
            </div>
            <DragOverlay>{dragging ? <CardFace card={findCard(data, dragging)?.card} lifted labels={data.labels} /> : null}</DragOverlay>
          </DndContext>
        </OpenedCardLayout>
        {paletteOpen ? (
          <Suspense fallback={null}>
            <CommandPalette
              board={data}
              workspaceId={props.workspaceId}
              projectId={projectId}
              open={paletteOpen}
              onOpenChange={setPaletteOpen}
              actions={{
                openCard: (cardId) => open(cardId),
                createCard,
                focusSearch,
                showAwaiting: () => setFilters({ ...NO_FILTERS, agentState: "awaiting" }),
                clearFilters: () => setFilters(NO_FILTERS),
                showHelp: () => setHelpOpen(true),
              }}
            />
          </Suspense>
        ) : null}
        {helpOpen ? <ShortcutsHelp onClose={() => setHelpOpen(false)} /> : null}
        </>
        );
      }}
    </Loaded>
  );
}

/** The agents a lane runs when a card enters it, each marked on or off (an off one is skipped, saying why). */
export function LaneAgents({ agents }: { agents: AgentConfig[] }) {
  if (agents.length === 0) return null;
  return (
    <ul className="lane-agents" aria-label="Agents of this lane">
      {agents.map((agent) => (
        <li
          key={agent.agent}
          className={agent.enabled ? "lane-agent" : "lane-agent off"}
          title={agent.enabled ? `${agent.display_name} runs here (${agent.provider} / ${agent.model})` : `${agent.display_name} is turned off`}
          data-testid="lane-agent"
        >
          {agent.display_name}
          {agent.enabled ? "" : " (off)"}
        </li>
      ))}
    </ul>
  );
}

/** The keyboard shortcuts, in a modal dialog (the browser traps focus in it and closes it on Esc). */
function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby="shortcuts-title" onClose={onClose} onCancel={(e) => e.stopPropagation()}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <dl className="shortcuts">
        {SHORTCUTS.map((shortcut) => (
          <div key={shortcut.keys}>
            <dt>
              <kbd>{shortcut.keys}</kbd>
            </dt>
            <dd>{shortcut.what}</dd>
          </div>
        ))}
      </dl>
      <form method="dialog">
        <button type="submit" className="primary" autoFocus>
          Close
        </button>
      </form>
    </dialog>
  );
}

function LaneColumn(props: {
  lane: Lane;
  cards: Card[];
  collapsed: boolean;
  onToggle: () => void;
  adding: boolean;
  onAdding: (open: boolean) => void;
  agents: AgentConfig[];
  projectId: string;
  boardId: string;
  canWrite: boolean;
  refusal: string | null;
  onOpen: (cardId: string) => void;
  labels: Label[];
}) {
  const { lane, canWrite, cards } = props;
  const { setNodeRef, isOver } = useDroppable({ id: lane.id, disabled: !canWrite });
  const full = lane.wip_limit !== null && lane.cards.length >= lane.wip_limit;
  if (props.collapsed) {
    // Still a drop target: a card dropped on a collapsed lane goes to its end.
    return (
      <section ref={setNodeRef} className={`lane collapsed${isOver ? " over" : ""}`} role="listitem" aria-label={`${lane.number} ${lane.name}`} data-lane={lane.number}>
        <button type="button" className="lane-expand" aria-expanded={false} aria-label={`Expand ${lane.name} (${lane.cards.length} cards)`} onClick={props.onToggle}>
          <span className="lane-number">{lane.number}</span>
          <span className="lane-vertical">{lane.name}</span>
          <span className={full ? "wip full" : "wip"}>{lane.cards.length}</span>
        </button>
      </section>
    );
  }
  return (
    <section className="lane" role="listitem" aria-label={`${lane.number} ${lane.name}`} data-lane={lane.number}>
      <header className="lane-head">
        <button type="button" className="link lane-collapse" aria-expanded={true} aria-label={`Collapse ${lane.name}`} title="Collapse the lane" onClick={props.onToggle}>
          <span aria-hidden="true">‹</span>
        </button>
        <span className="lane-number">{lane.number}</span>
        <h2 className="lane-name">{lane.name}</h2>
        {lane.requires_approval ? (
          <span className="gate-mark" title="Runs in this lane wait for approval">
            gate
          </span>
        ) : null}
        <span className={full ? "wip full" : "wip"} title="Cards / WIP limit" data-testid={`wip-${lane.number}`}>
          {lane.cards.length}
          {lane.wip_limit !== null ? ` / ${lane.wip_limit}` : ""}
        </span>
        {canWrite ? <LaneSettingsButton lane={lane} boardId={props.boardId} /> : null}
      </header>
      <LaneAgents agents={props.agents} />
      {props.refusal ? (
        <p className="refusal" role="alert">
          {props.refusal}
        </p>
      ) : null}
      <div className="lane-cards">
        <SortableContext items={cards.map((c) => c.id)} strategy={verticalListSortingStrategy}>
          {cards.map((card) => (
            <SortableCard key={card.id} card={card} disabled={!canWrite} onOpen={props.onOpen} labels={props.labels} />
          ))}
        </SortableContext>
        {/* The lane's own drop target is the space after its cards, so keyboard moves find cards first. */}
        <div ref={setNodeRef} className={`lane-drop${isOver ? " over" : ""}`}>
          {cards.length === 0 ? <p className="empty muted">{lane.cards.length === 0 ? "No cards" : "No matching cards"}</p> : null}
        </div>
      </div>
      {canWrite ? (
        props.adding ? (
          <AddCard projectId={props.projectId} boardId={props.boardId} lane={lane} onClose={lane.number === 0 ? undefined : () => props.onAdding(false)} />
        ) : (
          <button type="button" className="link add-card-open" aria-label={`Add a card to ${lane.name}`} onClick={() => props.onAdding(true)}>
            + Add a card
          </button>
        )
      ) : null}
    </section>
  );
}

function LaneSettingsButton({ lane, boardId }: { lane: Lane; boardId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="link lane-settings" aria-label={`Settings of ${lane.name}`} aria-expanded={open} onClick={() => setOpen(!open)}>
        ⚙
      </button>
      {open ? <LaneSettings lane={lane} boardId={boardId} onDone={() => setOpen(false)} /> : null}
    </>
  );
}

function LaneSettings({ lane, boardId, onDone }: { lane: Lane; boardId: string; onDone: () => void }) {
  const client = useQueryClient();
  const [wip, setWip] = useState(lane.wip_limit === null ? "" : String(lane.wip_limit));
  const [gate, setGate] = useState(Boolean(lane.requires_approval));
  const [error, setError] = useState<unknown>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const limit = wip.trim() === "" ? null : Number(wip);
    const body = limit === null ? { clear_wip_limit: true, requires_approval: gate } : { wip_limit: limit, requires_approval: gate };
    try {
      await api(`/api/lanes/${lane.id}`, { method: "PATCH", body });
      await client.invalidateQueries({ queryKey: keys.board(boardId) });
      onDone();
    } catch (caught) {
      setError(caught);
    }
  }
  return (
    <form className="lane-form stack" onSubmit={submit} aria-label={`${lane.name} settings`}>
      <label>
        WIP limit{" "}
        <input type="number" min={1} max={1000} value={wip} onChange={(e) => setWip(e.target.value)} placeholder="none" aria-label="WIP limit" />
      </label>
      <label className="row">
        <input type="checkbox" checked={gate} onChange={(e) => setGate(e.target.checked)} aria-label="Approval gate" /> Runs wait for approval
      </label>
      <div className="row">
        <button type="submit" className="primary">
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function SortableCard({ card, disabled, onOpen, labels }: { card: Card; disabled: boolean; onOpen: (id: string) => void; labels: Label[] }) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: card.id, disabled });
  return (
    <div
      ref={setNodeRef}
      style={{ transform: CSS.Transform.toString(transform), transition, opacity: isDragging ? 0.4 : 1 }}
      {...attributes}
      {...listeners}
      aria-roledescription={disabled ? "card" : "draggable card"}
      aria-label={`${card.human_id} ${card.title}`}
      data-card={card.title}
      data-card-id={card.id}
      onKeyDown={(event) => {
        if (event.key === "Enter" && !isDragging) {
          event.preventDefault();
          onOpen(card.id);
          return;
        }
        listeners?.onKeyDown?.(event);
      }}
    >
      <CardFace card={card} onOpen={() => onOpen(card.id)} labels={labels} />
    </div>
  );
}

function CardFace({ card, lifted = false, onOpen, labels = [] }: { card: Card | undefined; lifted?: boolean; onOpen?: () => void; labels?: Label[] }) {
  if (!card) return null;
  const runs = card.runs;
  const held = labels.filter((label) => card.label_ids.includes(label.id));
  return (
    <article className={lifted ? "card lifted" : "card"} onClick={onOpen}>
      <div className="card-title">
        <span className="human-id muted" data-testid="card-face-human-id">
          {card.human_id}
        </span>{" "}
        {card.title}
      </div>
      {held.length ? (
        <div className="card-labels">
          {held.map((label) => (
            <LabelChip key={label.id} label={label} />
          ))}
        </div>
      ) : null}
      <div className="card-meta">
        {card.due_date ? (
          <span className="tag due" data-testid="card-due">
            due {card.due_date}
          </span>
        ) : null}
        {card.assignee_agent ? (
          <span className="tag assignee" data-testid="card-assignee">
            {agentName(card.assignee_agent)}
          </span>
        ) : card.assignee_id ? (
          <span className="tag assignee" data-testid="card-assignee" title="Assigned to a person">
            assigned
          </span>
        ) : null}
        {CHOICE_FIELDS.map((field) => {
          const tag = choiceTag(field, card[field]);
          return tag ? (
            <span key={field} className={`tag ${field}-${card[field]}`} data-testid={`card-${field}`}>
              {tag}
            </span>
          ) : null;
        })}
        {runs ? (
          <>
            {/* A finished run a gate holds reads as awaiting approval, not as completed. */}
            <span className={runs.awaiting_approval ? "status awaiting" : `status ${runs.last_status}`} data-testid="card-run-state">
              {agentName(runs.last_agent)} · {runs.awaiting_approval ? "awaiting approval" : runs.last_status}
            </span>
            <span className="price" data-testid="card-price">
              {formatPrice(runs.total_price)}
            </span>
          </>
        ) : null}
      </div>
    </article>
  );
}

/** The quick add of a lane. The first lane's is always open; another lane's opens from its "+ Add a card" and
 * closes on Esc or when left empty. */
function AddCard({ projectId, boardId, lane, onClose }: { projectId: string; boardId: string; lane: Lane; onClose?: () => void }) {
  const laneId = lane.id;
  const client = useQueryClient();
  const [title, setTitle] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [adding, setAdding] = useState(0);
  // The field empties at once, so the next title can be typed while this one is saved; a refused one comes back.
  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = title.trim();
    if (!text) return;
    setTitle("");
    setAdding((n) => n + 1);
    setError(null);
    try {
      await api(`/api/projects/${projectId}/cards`, { method: "POST", body: { title: text, lane_id: laneId } });
      await client.invalidateQueries({ queryKey: keys.board(boardId) });
    } catch (caught) {
      setTitle((typed) => typed || text);
      setError(caught);
    } finally {
      setAdding((n) => n - 1);
    }
  }
  return (
    <form
      className="add-card"
      onSubmit={submit}
      onKeyDown={(event) => {
        if (event.key === "Escape" && onClose) {
          event.preventDefault();
          onClose();
        }
      }}
    >
      <input
        id={`add-card-${laneId}`}
        aria-label={lane.number === 0 ? "New card title" : `New card title in ${lane.name}`}
        placeholder="Add a card…"
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        onBlur={(e) => {
          if (onClose && !title.trim() && !e.currentTarget.form?.contains(e.relatedTarget)) onClose();
        }}
        autoFocus={Boolean(onClose)}
        maxLength={200}
      />
      <button type="submit" disabled={!title.trim()}>
        {adding > 0 && !title.trim() ? "Adding…" : "Add"}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
