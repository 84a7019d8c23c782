import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate } from "react-router";
import { api } from "../api/client";
import { keys, useAction, useProjects, useWorkspaces } from "../api/hooks";
import type { Project, Workspace } from "../api/types";
import { can, ErrorNote, Loaded, usePlace } from "../ui";

/** `/`: the first workspace, or creating one. */
export function Home() {
  const workspaces = useWorkspaces();
  return (
    <Loaded query={workspaces} label="Loading your workspaces…">
      {(list) => (list[0] ? <Navigate to={`/w/${list[0].id}`} replace /> : <CreateWorkspace />)}
    </Loaded>
  );
}

function CreateWorkspace() {
  const navigate = useNavigate();
  const create = useAction((name: string) => api<Workspace>("/api/workspaces", { method: "POST", body: { name } }), [
    keys.workspaces,
  ]);
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name") ?? "").trim();
    create.mutate(name, { onSuccess: (ws) => navigate(`/w/${ws.id}`) });
  }
  return (
    <section className="panel narrow">
      <h1>Create your workspace</h1>
      <p className="muted">A workspace holds your projects, members, usage and billing.</p>
      <form onSubmit={submit} className="row">
        <input name="name" aria-label="Workspace name" placeholder="Acme Labs" required maxLength={100} />
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create workspace"}
        </button>
      </form>
      <ErrorNote error={create.error} />
    </section>
  );
}

/** `/w/:id`: the workspace's projects, and a new one. */
export function WorkspaceHome() {
  const { workspaceId, workspace, role } = usePlace();
  const projects = useProjects(workspaceId);
  return (
    <section className="panel">
      <h1>{workspace?.name ?? "Workspace"}</h1>
      <Loaded query={projects} label="Loading projects…">
        {(list) => (
          <ul className="project-list">
            {list.length === 0 ? <li className="muted">No projects yet.</li> : null}
            {list.map((p) => (
              <li key={p.id}>
                <Link to={`/w/${workspaceId}/p/${p.id}/board`}>{p.name}</Link>
                <span className="muted"> {p.description}</span>
              </li>
            ))}
          </ul>
        )}
      </Loaded>
      {can(role, "write") ? <CreateProject workspaceId={workspaceId} /> : null}
    </section>
  );
}

function CreateProject({ workspaceId }: { workspaceId: string }) {
  const navigate = useNavigate();
  const [description, setDescription] = useState("");
  const create = useAction(
    (name: string) => api<Project>(`/api/workspaces/${workspaceId}/projects`, { method: "POST", body: { name, description } }),
    [keys.projects(workspaceId)],
  );
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name") ?? "").trim();
    create.mutate(name, { onSuccess: (p) => navigate(`/w/${workspaceId}/p/${p.id}/board`) });
  }
  return (
    <form onSubmit={submit} className="stack" aria-label="New project">
      <h3>New project</h3>
      <input name="name" aria-label="Project name" placeholder="Project name" required maxLength={100} />
      <textarea
        aria-label="Project description"
        placeholder="What are you building? (optional)"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
        rows={2}
      />
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create project"}
      </button>
      <ErrorNote error={create.error} />
    </form>
  );
}
