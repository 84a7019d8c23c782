// The drawer's Activity: everything that happened to the card, newest first, a page at a time (moves, edits with
// what changed, runs and their outcome, approvals, comments, merges of its code), read from GET /api/cards/{id}/activity.

import { useInfiniteQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import type { ActivityItem, ActivityPage } from "../api/types";
import { agentName } from "../lib/agents";
import { formatMoment } from "../lib/time";
import { ErrorNote } from "../ui";
import { shortSha } from "./codeView";

function shown(value: unknown): string {
  if (value === null || value === undefined || value === "") return "nothing";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function who(item: ActivityItem): string {
  if (item.agent) return agentName(item.agent);
  return item.actor_id ? "Someone" : "AgentWorks";
}

/** One line saying what the item was. */
export function describe(item: ActivityItem): string {
  switch (item.kind) {
    case "created":
      return "created the card";
    case "edited":
      return `changed ${item.changes.map((c) => `${c.field.replace(/_/g, " ")} from ${shown(c.before)} to ${shown(c.after)}`).join("; ")}`;
    case "moved":
      return item.from_lane === item.to_lane ? `reordered it in ${item.to_lane}` : `moved it from ${item.from_lane} to ${item.to_lane}`;
    case "archived":
      return "archived the card";
    case "unarchived":
      return "restored the card";
    case "run":
      return `ran: ${item.status ?? "queued"}${item.reason ? ` (${item.reason})` : ""}`;
    case "approval":
      return `${item.decision ?? "decided"} ${agentName(item.agent ?? "")}'s run${item.text ? `: ${item.text}` : ""}`;
    case "comment":
      return item.text ? `commented: ${shown(item.text)}` : "deleted a comment";
    case "merged":
      return `merged ${item.branch ?? "the card's branch"}${item.sha ? ` as ${shortSha(item.sha)}` : ""}`;
    default:
      return item.action.replace(/[._]/g, " ");
  }
}

export function CardActivity({ cardId }: { cardId: string }) {
  const pages = useInfiniteQuery({
    queryKey: ["activity", cardId],
    queryFn: ({ pageParam }) => api<ActivityPage>(`/api/cards/${cardId}/activity?limit=20${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ""}`),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = pages.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <div data-testid="card-activity">
      {pages.isPending ? <p className="muted">Loading activity…</p> : null}
      <ErrorNote error={pages.error} onRetry={() => void pages.refetch()} />
      {!pages.isPending && items.length === 0 ? <p className="muted">Nothing yet.</p> : null}
      <ol className="timeline">
        {items.map((item) => (
          <li key={item.id} className={`activity activity-${item.kind}`} data-kind={item.kind}>
            <time dateTime={item.at}>{formatMoment(item.at)}</time> <strong>{who(item)}</strong> {describe(item)}
          </li>
        ))}
      </ol>
      {pages.hasNextPage ? (
        <button type="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          {pages.isFetchingNextPage ? "Loading…" : "Show older"}
        </button>
      ) : null}
    </div>
  );
}
