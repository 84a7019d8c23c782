// Small shared pieces: loading and error states, the current workspace and what its role allows.

import type { ReactNode } from "react";
import { useParams } from "react-router";
import { errorText } from "./api/client";
import { useProjects, useWorkspaces } from "./api/hooks";
import type { Project, Role, Workspace } from "./api/types";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="error-note" role="alert">
      {errorText(error)}
      {onRetry ? (
        <button type="button" className="link" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** Renders the query's data, its loading state, or its error in place. */
export function Loaded<T>({
  query,
  label,
  children,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  label?: string;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Spinner label={label} />;
  if (query.error || query.data === undefined) return <ErrorNote error={query.error} onRetry={() => void query.refetch()} />;
  return <>{children(query.data)}</>;
}

export type Action = "write" | "run" | "billing" | "invite";

export function can(role: Role | undefined, action: Action): boolean {
  if (role === "owner") return true;
  if (role === "member") return action === "write" || action === "run";
  return false;
}

export interface Place {
  workspace: Workspace | undefined;
  project: Project | undefined;
  role: Role | undefined;
  workspaceId: string;
  projectId: string;
}

/** The workspace and project named by the URL. */
export function usePlace(): Place {
  const { workspaceId = "", projectId = "" } = useParams();
  const workspaces = useWorkspaces();
  const projects = useProjects(workspaceId || undefined);
  const workspace = workspaces.data?.find((w) => w.id === workspaceId);
  const project = projects.data?.find((p) => p.id === projectId);
  return { workspace, project, role: workspace?.role, workspaceId, projectId };
}

/** Shown instead of a blank page when a screen fails to render. */
export function ScreenError() {
  return (
    <div className="panel narrow" role="alert">
      <h2>This screen failed to load</h2>
      <p className="muted">Reload the page; if it keeps happening, the error is on our side and has been logged.</p>
      <button type="button" onClick={() => window.location.reload()}>
        Reload
      </button>
    </div>
  );
}
