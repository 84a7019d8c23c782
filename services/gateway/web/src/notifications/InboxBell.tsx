import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router";
import { api } from "../api/client";
import { useAction } from "../api/hooks";
import type { Notification } from "../api/types";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded } from "../ui";
import { inboxKeys, notificationLink, useInbox, useUnread } from "./inbox";

/** The header's bell: the unread count, and the inbox it opens (entries open their card and are marked read). */
export function InboxBell({ workspaceId }: { workspaceId: string }) {
  const [open, setOpen] = useState(false);
  const unread = useUnread(workspaceId).data?.unread ?? 0;
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return undefined;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && setOpen(false);
    const onClick = (event: MouseEvent) => panel.current && !panel.current.contains(event.target as Node) && setOpen(false);
    window.addEventListener("keydown", onKey);
    window.addEventListener("mousedown", onClick);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("mousedown", onClick);
    };
  }, [open]);
  const label = unread > 0 ? `Notifications, ${unread} unread` : "Notifications";
  return (
    <div className="inbox" ref={panel}>
      <button type="button" className="bell" aria-label={label} aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid="inbox-bell">
        <span aria-hidden="true">🔔</span>
        {unread > 0 ? (
          <span className="badge" data-testid="unread-count">
            {unread > 99 ? "99+" : unread}
          </span>
        ) : null}
      </button>
      {open ? <InboxPanel workspaceId={workspaceId} onLeave={() => setOpen(false)} /> : null}
    </div>
  );
}

function InboxPanel({ workspaceId, onLeave }: { workspaceId: string; onLeave: () => void }) {
  const inbox = useInbox(workspaceId, true);
  const navigate = useNavigate();
  const client = useQueryClient();
  const base = `/api/workspaces/${workspaceId}/notifications`;
  const readAll = useAction(() => api(`${base}/read`, { method: "POST" }), [inboxKeys.all]);
  const open = async (entry: Notification) => {
    if (!entry.read_at) await api(`${base}/${entry.id}/read`, { method: "POST" }).catch(() => undefined);
    void client.invalidateQueries({ queryKey: inboxKeys.all });
    const link = notificationLink(workspaceId, entry);
    onLeave();
    if (link) void navigate(link);
  };
  return (
    <div className="inbox-panel" role="dialog" aria-label="Inbox">
      <div className="row">
        <strong>Inbox</strong>
        <button type="button" className="link small" onClick={() => readAll.mutate(undefined)} disabled={readAll.isPending}>
          Mark all as read
        </button>
        <BrowserAlerts />
      </div>
      <Loaded query={inbox} label="Loading notifications…">
        {(data) =>
          data.notifications.length === 0 ? (
            <p className="muted">Nothing yet. Mentions, runs on cards you follow and approvals show here.</p>
          ) : (
            <ul className="notifications">
              {data.notifications.map((entry) => (
                <li key={entry.id} className={entry.read_at ? "read" : "unread"} data-testid="notification">
                  <button type="button" className="link" onClick={() => void open(entry)}>
                    <span className="title">{entry.title}</span>
                    {entry.body ? <span className="muted small excerpt">{entry.body}</span> : null}
                    <span className="muted small">
                      {formatMoment(entry.created_at)}
                      {entry.read_at ? "" : " · unread"}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <ErrorNote error={readAll.error} />
    </div>
  );
}

/** Asks for the browser's permission to notify, only when the person clicks it. */
function BrowserAlerts() {
  const supported = typeof Notification !== "undefined";
  const [permission, setPermission] = useState(supported ? Notification.permission : "denied");
  if (!supported || permission !== "default") return null;
  return (
    <button type="button" className="link small" onClick={() => void Notification.requestPermission().then(setPermission)}>
      Alert me when the tab is hidden
    </button>
  );
}
