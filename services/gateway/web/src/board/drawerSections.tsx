// The drawer's sections, in order. A feature mounts its card component by adding one entry here; the drawer
// lists every section in its header's navigation and renders them one under the other, all mounted, so a
// section's live parts (the terminal's socket, a thread's updates) keep running while another is in view.

import type { ReactNode } from "react";
import type { Board, Card, CardRuns, Lane } from "../api/types";
import { CardActivity } from "./CardActivity";
import { CardAttachments } from "./CardAttachments";
import { CardCode } from "./CardCode";
import { CardDetails } from "./CardDetails";
import { CardConversation } from "./CardConversation";
import { CardDocuments } from "./CardDocuments";
import { CardOverview } from "./CardOverview";
import { RunsPanel } from "./CardRuns";

/** What every section is given: the card as last read, the live board, the viewer's rights, the card's runs. */
export interface DrawerContext {
  card: Card;
  board: Board;
  /** The lane the card is in now, from the live board. */
  lane: Lane | undefined;
  projectId: string;
  workspaceId: string;
  canWrite: boolean;
  canRun: boolean;
  runs: { data: CardRuns | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  /** Re-reads what a run's change of state may have changed (its runs, the board, documents). */
  refreshRuns: () => void;
  /** Re-reads what a run's step may have changed on the card (children, documents, comments, images). */
  refreshEffects: () => void;
}

export interface DrawerSection {
  /** The section's anchor (`#drawer-<id>`), stable for links and tests. */
  id: string;
  title: string;
  render: (context: DrawerContext) => ReactNode;
}

export const DRAWER_SECTIONS: readonly DrawerSection[] = [
  { id: "overview", title: "Overview", render: (c) => <CardOverview card={c.card} canWrite={c.canWrite} boardId={c.board.id} /> },
  { id: "details", title: "Details", render: (c) => <CardDetails card={c.card} board={c.board} workspaceId={c.workspaceId} canWrite={c.canWrite} /> },
  { id: "attachments", title: "Attachments", render: (c) => <CardAttachments cardId={c.card.id} canWrite={c.canWrite} /> },
  { id: "conversation", title: "Conversation", render: (c) => <CardConversation cardId={c.card.id} workspaceId={c.workspaceId} canWrite={c.canWrite} /> },
  {
    id: "runs",
    title: "Runs",
    render: (c) => (
      <RunsPanel
        cardId={c.card.id}
        projectId={c.projectId}
        workspaceId={c.workspaceId}
        runs={c.runs}
        canRun={c.canRun}
        onRunsChanged={c.refreshRuns}
        onEffects={c.refreshEffects}
      />
    ),
  },
  { id: "documents", title: "Documents", render: (c) => <CardDocuments cardId={c.card.id} /> },
  { id: "activity", title: "Activity", render: (c) => <CardActivity cardId={c.card.id} /> },
  { id: "code", title: "Code", render: (c) => <CardCode cardId={c.card.id} projectId={c.projectId} lane={c.lane} canWrite={c.canWrite} /> },
];
