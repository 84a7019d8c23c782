// The project's git repository: how to clone it, where it lives (the platform, or a remote of the project's own
// that owners connect and disconnect here), its branches with the cards they belong to, the default branch's files
// and a zip of it.

import { type FormEvent, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../api/client";
import { keys, useAction, useBoard, useRepository, useRepositoryFiles } from "../api/hooks";
import type { ConnectedRemote, Repository, RepositoryEntry, RepositoryFiles } from "../api/types";
import { ErrorNote, Loaded, Spinner, usePlace } from "../ui";
import { absoluteUrl, archiveHref, branchCards, cloneCommand, crumbs, formatSize, parentOf } from "./repositoryView";

export function RepositoryPage() {
  const { project, projectId, workspaceId, role } = usePlace();
  const repository = useRepository(projectId);
  return (
    <section className="panel stack repository">
      <h1>Repository{project ? ` of ${project.name}` : ""}</h1>
      <Loaded query={repository} label="Loading the repository…">
        {(repo) => (
          <>
            <Clone repo={repo} projectId={projectId} />
            <Remote repo={repo} projectId={projectId} owner={role === "owner"} />
            <Branches repo={repo} boardId={project?.board_id ?? null} workspaceId={workspaceId} projectId={projectId} />
            <Files projectId={projectId} reference={repo.default_branch} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function Clone({ repo, projectId }: { repo: Repository; projectId: string }) {
  const url = absoluteUrl(repo.clone_url, globalThis.location?.href);
  const command = cloneCommand(url);
  const [copied, setCopied] = useState<string | null>(null);
  async function copy(text: string) {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(text);
    } catch {
      setCopied(null);
    }
  }
  return (
    <section className="stack">
      <h2>Clone</h2>
      <div className="row">
        <input className="mono grow" aria-label="Clone URL" readOnly value={url} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy(url)}>
          {copied === url ? "Copied" : "Copy URL"}
        </button>
      </div>
      <div className="row">
        <code className="grow" data-testid="clone-command">
          {command}
        </code>
        <button type="button" onClick={() => void copy(command)}>
          {copied === command ? "Copied" : "Copy command"}
        </button>
      </div>
      <p className="muted small">
        {repo.remote_kind === "connected"
          ? "The repository lives on its own remote: clone, fetch and push there with your own credentials for it."
          : "Git asks for a user name (any) and a password: a workspace API key. A viewer's key clones and fetches; pushing takes a member's or an owner's."}{" "}
        The default branch is{" "}
        <code>{repo.default_branch}</code>.{" "}
        <a href={archiveHref(projectId, repo.default_branch)} download>
          Download a zip of {repo.default_branch}
        </a>
      </p>
    </section>
  );
}

function Remote({ repo, projectId, owner }: { repo: Repository; projectId: string; owner: boolean }) {
  const refresh = [keys.repository(projectId)];
  const disconnect = useAction(() => api<void>(`/api/projects/${projectId}/repository/remote`, { method: "DELETE" }), refresh);
  const remote = repo.remote;
  return (
    <section className="stack" data-testid="remote-kind">
      <h2>Where it lives</h2>
      {remote ? (
        <>
          <p>
            Connected to <code>{remote.url}</code> (as <code>{remote.username}</code>, since {new Date(remote.connected_at).toLocaleDateString()}):
            agents clone from it and push their card branches there, and merges land on its {repo.default_branch}.
          </p>
          {owner ? (
            <div className="row">
              <button type="button" disabled={disconnect.isPending} onClick={() => disconnect.mutate(undefined)}>
                Disconnect
              </button>
              <span className="muted small">The remote keeps its branches; the project returns to the AgentWorks repository.</span>
            </div>
          ) : null}
          <ErrorNote error={disconnect.error} />
        </>
      ) : (
        <>
          <p className="muted">Hosted by AgentWorks.</p>
          {owner ? <ConnectRemote projectId={projectId} /> : null}
        </>
      )}
    </section>
  );
}

function ConnectRemote({ projectId }: { projectId: string }) {
  const [url, setUrl] = useState("");
  const [token, setToken] = useState("");
  const [username, setUsername] = useState("");
  const connect = useAction(
    (body: { url: string; token: string; username?: string }) =>
      api<ConnectedRemote>(`/api/projects/${projectId}/repository/remote`, { method: "PUT", body }),
    [keys.repository(projectId)],
  );
  function submit(event: FormEvent) {
    event.preventDefault();
    const body = { url: url.trim(), token, ...(username.trim() ? { username: username.trim() } : {}) };
    connect.mutate(body, { onSuccess: () => setToken("") });
  }
  return (
    <form className="stack" onSubmit={submit} aria-label="Connect a remote">
      <h3>Connect a remote</h3>
      <p className="muted small">
        Use an existing repository instead: agents then push their card branches there. Its token needs to read and push; it is kept as a secret and never
        shown again.
      </p>
      <label>
        Repository URL
        <input type="url" required placeholder="https://github.com/team/shop.git" value={url} onChange={(e) => setUrl(e.target.value)} />
      </label>
      <label>
        Access token
        <input type="password" required autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
      </label>
      <label>
        User name (optional)
        <input placeholder="x-access-token" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <ErrorNote error={connect.error} />
      <div className="row">
        <button type="submit" disabled={connect.isPending}>
          {connect.isPending ? "Connecting…" : "Connect a remote"}
        </button>
      </div>
    </form>
  );
}

function Branches({ repo, boardId, workspaceId, projectId }: { repo: Repository; boardId: string | null; workspaceId: string; projectId: string }) {
  const board = useBoard(boardId);
  const titles = new Map((board.data?.lanes ?? []).flatMap((lane) => lane.cards.map((card) => [card.id, card.title] as const)));
  const branches = branchCards(repo.branches, titles);
  return (
    <section>
      <h2>Branches</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Branch</th>
              <th>Head</th>
              <th className="num">Ahead / behind {repo.default_branch}</th>
              <th>Card</th>
            </tr>
          </thead>
          <tbody>
            {branches.map((branch) => (
              <tr key={branch.name} data-testid="repository-branch">
                <td>
                  <code>{branch.name}</code>
                </td>
                <td>
                  <code title={branch.sha}>{branch.sha.slice(0, 7)}</code>
                </td>
                <td className="num">{branch.name === repo.default_branch ? "—" : `${branch.ahead} / ${branch.behind}`}</td>
                <td>
                  {branch.card ? (
                    <Link to={`/w/${workspaceId}/p/${projectId}/board?card=${branch.card.id}`} data-testid="branch-card">
                      {branch.card.title}
                    </Link>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Files({ projectId, reference }: { projectId: string; reference: string }) {
  const [search, setSearch] = useSearchParams();
  const path = search.get("path") ?? "";
  const files = useRepositoryFiles(projectId, reference, path);
  const open = (next: string) => {
    const params = new URLSearchParams(search);
    if (next) params.set("path", next);
    else params.delete("path");
    setSearch(params);
  };
  const up = parentOf(path);
  return (
    <section>
      <h2>Files of {reference}</h2>
      <nav className="row small" aria-label="Path">
        <button type="button" className="link" onClick={() => open("")}>
          {reference}
        </button>
        {crumbs(path).map((crumb) => (
          <span key={crumb.path}>
            /{" "}
            <button type="button" className="link" onClick={() => open(crumb.path)}>
              {crumb.name}
            </button>
          </span>
        ))}
      </nav>
      {files.isPending ? <Spinner label="Loading files…" /> : null}
      <ErrorNote error={files.error} onRetry={() => void files.refetch()} />
      {files.data?.kind === "file" ? <FileText file={files.data} /> : null}
      {files.data?.kind === "dir" ? <Entries entries={files.data.entries} up={up} open={open} /> : null}
    </section>
  );
}

function Entries({ entries, up, open }: { entries: RepositoryEntry[]; up: string | null; open: (path: string) => void }) {
  return (
    <table className="files">
      <tbody>
        {up !== null ? (
          <tr>
            <td>
              <button type="button" className="link" onClick={() => open(up)} aria-label="Up a directory">
                ..
              </button>
            </td>
            <td />
          </tr>
        ) : null}
        {entries.length === 0 ? (
          <tr>
            <td className="muted">Empty.</td>
            <td />
          </tr>
        ) : null}
        {entries.map((entry) => (
          <tr key={entry.path} data-testid="repository-entry">
            <td>
              {entry.type === "dir" || entry.type === "file" ? (
                <button type="button" className="link" onClick={() => open(entry.path)}>
                  {entry.type === "dir" ? `${entry.name}/` : entry.name}
                </button>
              ) : (
                <span className="muted">
                  {entry.name} ({entry.type})
                </span>
              )}
            </td>
            <td className="num muted small">{entry.size !== null ? formatSize(entry.size) : ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FileText({ file }: { file: RepositoryFiles }) {
  if (file.binary || file.content === null) return <p className="muted">A binary file: download the zip to see it.</p>;
  return (
    <>
      {file.truncated ? <p className="warning small">The file is too long to show whole; the rest is cut off.</p> : null}
      <pre className="code-output" data-testid="repository-file">
        {file.content}
      </pre>
    </>
  );
}
