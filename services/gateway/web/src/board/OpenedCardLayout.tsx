// The board beside the card its address opens: the drawer, the separator that resizes it, or a clear note when
// the address names no card of this workspace.

import { lazy, Suspense, useEffect, type CSSProperties, type ReactNode } from "react";
import type { Board } from "../api/types";
import { ErrorNote, Spinner } from "../ui";
import { refText } from "./address";
import { useOpenedCard, type OpenedCard } from "./cardNavigation";
import { DrawerSeparator, useDrawerWidth } from "./DrawerSplit";

// The drawer (terminal, Markdown, transcripts) loads when a card is first opened, not with the board.
const CardDrawer = lazy(() => import("./CardDrawer").then((m) => ({ default: m.CardDrawer })));

/** The drawer's element id, which the separator controls. */
export const CARD_DRAWER = "card-drawer";

interface Props {
  board: Board;
  workspaceId: string;
  projectId: string;
  canWrite: boolean;
  canRun: boolean;
  /** Closes the card; given the card's id when one was shown, for focus to return to it on the board. */
  onClose: (cardId: string | null) => void;
  children: ReactNode;
}

export function OpenedCardLayout(props: Props) {
  const opened = useOpenedCard(props.board, props.workspaceId, props.projectId);
  const { width, viewport, choose } = useDrawerWidth();
  const isOpen = opened.state !== "none";
  const style = { "--drawer-w": `${width}px` } as CSSProperties;
  return (
    <div className={isOpen ? "board-layout with-drawer" : "board-layout"} style={isOpen ? style : undefined}>
      {props.children}
      {isOpen ? (
        <>
          <DrawerSeparator width={width} viewport={viewport} controls={CARD_DRAWER} onResize={choose} />
          <DrawerFor opened={opened} {...props} />
        </>
      ) : null}
    </div>
  );
}

function Pending({ label }: { label: string }) {
  return (
    <aside id={CARD_DRAWER} className="drawer" aria-label="Card details" aria-busy="true">
      <Spinner label={label} />
    </aside>
  );
}

function DrawerFor({ opened, ...props }: Props & { opened: OpenedCard }) {
  if (opened.state === "none") return null;
  if (opened.state === "loading") return <Pending label="Opening the card…" />;
  if (opened.state === "missing") return <NoSuchCard text={refText(opened.ref)} onClose={() => props.onClose(null)} />;
  if (opened.state === "failed") {
    return (
      <aside id={CARD_DRAWER} className="drawer" aria-label="Card details">
        <div className="drawer-note">
          <ErrorNote error={opened.error} onRetry={opened.retry} />
          <button type="button" onClick={() => props.onClose(null)}>
            Close
          </button>
        </div>
      </aside>
    );
  }
  const cardId = opened.cardId;
  return (
    <Suspense fallback={<Pending label="Opening the card…" />}>
      <CardDrawer
        id={CARD_DRAWER}
        cardId={cardId}
        projectId={props.projectId}
        workspaceId={props.workspaceId}
        board={props.board}
        canWrite={props.canWrite}
        canRun={props.canRun}
        onClose={() => props.onClose(cardId)}
      />
    </Suspense>
  );
}

/** Shown in the drawer's place when the address names no card this person can see. */
function NoSuchCard({ text, onClose }: { text: string; onClose: () => void }) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && !event.defaultPrevented && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <aside id={CARD_DRAWER} className="drawer" aria-label="Card details" data-testid="no-such-card">
      <div className="drawer-note">
        <h2 className="drawer-title">No such card</h2>
        <p>
          There is no card <strong>{text}</strong> in this workspace that you can see. It may have been deleted, or the link
          may be mistyped.
        </p>
        <button type="button" className="primary" onClick={onClose}>
          Back to the board
        </button>
      </div>
    </aside>
  );
}
