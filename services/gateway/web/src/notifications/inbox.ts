// Each person's inbox in a workspace: queries, where an entry leads, and the browser notification shown when a
// notification arrives live while the tab is hidden.

import { useQuery, type QueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import type { Inbox, Unread } from "../api/types";

/** What the board socket relays to its own person (log-stream's `notification_message`). */
export interface NotificationFrame {
  type: "notification";
  notification_id: string;
  kind: string;
  title: string;
  body: string;
  card_id: string;
  project_id: string;
}

export const inboxKeys = {
  all: ["notifications"] as const,
  list: (ws: string) => ["notifications", ws, "list"] as const,
  unread: (ws: string) => ["notifications", ws, "unread"] as const,
};

export function useUnread(workspaceId: string) {
  // Live frames refresh it on the board; elsewhere it is read again on focus and once a minute.
  return useQuery({ queryKey: inboxKeys.unread(workspaceId), queryFn: () => api<Unread>(`/api/workspaces/${workspaceId}/notifications/unread`), refetchInterval: 60_000 });
}

export function useInbox(workspaceId: string, enabled: boolean) {
  return useQuery({ queryKey: inboxKeys.list(workspaceId), queryFn: () => api<Inbox>(`/api/workspaces/${workspaceId}/notifications?limit=30`), enabled });
}

/** Where a notification leads: its card, opened on its project's board. */
export function notificationLink(workspaceId: string, entry: { project_id: string | null; card_id: string | null }): string | null {
  if (!entry.project_id || !entry.card_id) return null;
  return `/w/${workspaceId}/p/${entry.project_id}/board?card=${entry.card_id}`;
}

/** The workspace the app shows, from its address (`/w/<id>/…`). */
export function workspaceOf(pathname: string): string | null {
  return /^\/w\/([^/]+)/.exec(pathname)?.[1] ?? null;
}

/** Whether a browser notification should be shown: the tab is hidden and the person allowed them. */
export function shouldNotify(hidden: boolean, permission: NotificationPermission | undefined): boolean {
  return hidden && permission === "granted";
}

/** A notification arrived on the board socket: refresh the inbox, and tell the person if they are looking elsewhere. */
export function receiveNotification(client: QueryClient, frame: NotificationFrame): void {
  void client.invalidateQueries({ queryKey: inboxKeys.all });
  const permission = typeof Notification === "undefined" ? undefined : Notification.permission;
  if (!shouldNotify(document.hidden, permission)) return;
  const workspaceId = workspaceOf(window.location.pathname);
  const shown = new Notification(frame.title, { body: frame.body, tag: frame.notification_id });
  shown.onclick = () => {
    window.focus();
    const link = workspaceId ? notificationLink(workspaceId, frame) : null;
    if (link) window.location.assign(link);
  };
}
