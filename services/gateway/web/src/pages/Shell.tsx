import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { NavLink, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { api, ApiError } from "../api/client";
import { useMe, useProjects, useWorkspaces } from "../api/hooks";
import { InboxBell } from "../notifications/InboxBell";
import { ErrorNote, Spinner } from "../ui";
import { useTheme } from "../lib/theme";

export function Shell() {
  const me = useMe();
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    if (me.error instanceof ApiError && me.error.status === 401) {
      navigate("/signin", { replace: true, state: { from: location.pathname } });
    }
  }, [me.error, navigate, location.pathname]);

  if (me.isPending) return <Spinner label="Signing you in…" />;
  if (me.error) return <ErrorNote error={me.error} onRetry={() => void me.refetch()} />;
  return (
    <div className="app">
      <TopBar userName={me.data.name} />
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}

const lastProjectKey = (workspaceId: string) => `aw.project.${workspaceId}`;

function TopBar({ userName }: { userName: string }) {
  const { workspaceId, projectId: projectInUrl } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const workspaces = useWorkspaces();
  const projects = useProjects(workspaceId);
  // The workspace's pages (usage, members, …) keep the project last opened in it, so its links stay at hand.
  useEffect(() => {
    if (workspaceId && projectInUrl) localStorage.setItem(lastProjectKey(workspaceId), projectInUrl);
  }, [workspaceId, projectInUrl]);
  const remembered = workspaceId ? localStorage.getItem(lastProjectKey(workspaceId)) : null;
  const projectId = projectInUrl ?? (projects.data?.some((p) => p.id === remembered) ? (remembered ?? undefined) : undefined);

  // The drawer sits under the header, whose height depends on how its items wrap.
  const bar = useRef<HTMLElement>(null);
  useEffect(() => {
    const element = bar.current;
    if (!element) return;
    const observer = new ResizeObserver(() => document.documentElement.style.setProperty("--topbar-h", `${element.offsetHeight}px`));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  async function signOut() {
    await api("/api/auth/signout", { method: "POST" }).catch(() => undefined);
    client.clear();
    navigate("/signin", { replace: true });
  }

  return (
    <header className="topbar" ref={bar}>
      <NavLink to="/" className="brand" aria-label="AgentWorks home">
        <span className="logo" aria-hidden="true" /> <span className="brand-name">AgentWorks</span>
      </NavLink>
      <label className="switcher">
        <span className="sr-only">Workspace</span>
        <select
          aria-label="Workspace"
          value={workspaceId ?? ""}
          onChange={(e) => navigate(e.target.value ? `/w/${e.target.value}` : "/")}
        >
          <option value="">Workspaces…</option>
          {workspaces.data?.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name} ({w.role})
            </option>
          ))}
        </select>
      </label>
      {workspaceId ? (
        <label className="switcher">
          <span className="sr-only">Project</span>
          <select
            aria-label="Project"
            value={projectId ?? ""}
            onChange={(e) => navigate(e.target.value ? `/w/${workspaceId}/p/${e.target.value}/board` : `/w/${workspaceId}`)}
          >
            <option value="">Projects…</option>
            {projects.data?.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <nav className="tabs" aria-label="Sections">
        {workspaceId && projectId ? (
          <>
            <NavLink to={`/w/${workspaceId}/p/${projectId}/board`}>Board</NavLink>
            <NavLink to={`/w/${workspaceId}/p/${projectId}/console`}>Console</NavLink>
            <NavLink to={`/w/${workspaceId}/p/${projectId}/documents`}>Documents</NavLink>
            <NavLink to={`/w/${workspaceId}/p/${projectId}/repository`}>Repository</NavLink>
            <NavLink to={`/w/${workspaceId}/p/${projectId}/providers`}>Providers</NavLink>
          </>
        ) : null}
        {workspaceId ? (
          <>
            <NavLink to={`/w/${workspaceId}/usage`}>Usage</NavLink>
            <NavLink to={`/w/${workspaceId}/billing`}>Billing</NavLink>
            <NavLink to={`/w/${workspaceId}/members`}>Members</NavLink>
            <NavLink to={`/w/${workspaceId}/api-keys`}>API keys</NavLink>
          </>
        ) : null}
      </nav>
      <div className="user">
        {workspaceId ? <InboxBell workspaceId={workspaceId} /> : null}
        <ThemeToggle />
        <span className="muted user-name">{userName}</span>
        <button type="button" className="link" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
    </header>
  );
}

/** Switches between the light and the dark theme (kept in this browser); until then the system's applies. */
function ThemeToggle() {
  const { theme, toggle } = useTheme();
  return (
    <button type="button" className="link theme-toggle" aria-pressed={theme === "dark"} onClick={toggle} title="Dark theme" data-testid="theme-toggle">
      <span aria-hidden="true">{theme === "dark" ? "☾" : "☀"}</span>
      <span className="sr-only">Dark theme</span>
    </button>
  );
}
