import { diffLines } from "diff";
import { useSearchParams } from "react-router";
import { useDocuments, useVersion, useVersions } from "../api/hooks";
import type { VersionMeta } from "../api/types";
import { Markdown } from "../lib/Markdown";
import { newest } from "../lib/newest";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded, Spinner, usePlace } from "../ui";

/** Who wrote a version: the agent, the card it worked on and its run, or a person. */
export function attribution(version: Pick<VersionMeta, "source_run_id" | "author_id" | "agent" | "card_title">): string {
  if (version.source_run_id) {
    const agent = version.agent ? version.agent.replace(/_/g, " ") : "an agent";
    const card = version.card_title ? ` on “${version.card_title}”` : "";
    return `by ${agent}${card} (run ${version.source_run_id.slice(0, 8)})`;
  }
  return version.author_id ? "by a person" : "";
}

/** Project documents (rendered as Markdown), each version and who wrote it, and the difference between any two. */
export function DocumentsPage() {
  const { projectId } = usePlace();
  const [search, setSearch] = useSearchParams();
  const documents = useDocuments(projectId);
  const kind = search.get("kind") ?? newest(documents.data ?? [], (doc) => doc.updated_at)?.kind ?? null;
  const versions = useVersions(projectId, kind);
  const latest = versions.data?.[0]?.version ?? null;
  const version = Number(search.get("version") ?? latest ?? 0) || null;
  const compare = Number(search.get("compare") ?? 0) || null;
  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setSearch(next);
  };

  return (
    <section className="panel documents">
      <nav className="doc-list" aria-label="Documents">
        <h2>Documents</h2>
        <Loaded query={documents} label="Loading documents…">
          {(list) =>
            list.length === 0 ? (
              <p className="muted">No documents yet; agents write them as they run.</p>
            ) : (
              <ul>
                {list.map((doc) => (
                  <li key={doc.kind}>
                    <button type="button" className={doc.kind === kind ? "link active" : "link"} onClick={() => set({ kind: doc.kind, version: null, compare: null })}>
                      {doc.title}
                    </button>
                    <span className="muted small"> v{doc.latest_version}</span>
                  </li>
                ))}
              </ul>
            )
          }
        </Loaded>
      </nav>
      <div className="doc-body">
        {!kind ? <p className="muted">Choose a document.</p> : null}
        {kind ? (
          <Loaded query={versions} label="Loading versions…">
            {(list) => (
              <>
                <div className="row">
                  <label>
                    Version{" "}
                    <select aria-label="Version" value={version ?? ""} onChange={(e) => set({ version: e.target.value })}>
                      {list.map((v) => (
                        <option key={v.version} value={v.version}>
                          v{v.version} · {formatMoment(v.created_at)}
                          {attribution(v) ? ` · ${attribution(v)}` : ""}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label>
                    Compare with{" "}
                    <select aria-label="Compare with" value={compare ?? ""} onChange={(e) => set({ compare: e.target.value || null })}>
                      <option value="">—</option>
                      {list
                        .filter((v) => v.version !== version)
                        .map((v) => (
                          <option key={v.version} value={v.version}>
                            v{v.version}
                          </option>
                        ))}
                    </select>
                  </label>
                </div>
                {compare ? <Diff projectId={projectId} kind={kind} from={compare} to={version} /> : <Content projectId={projectId} kind={kind} version={version} />}
              </>
            )}
          </Loaded>
        ) : null}
      </div>
    </section>
  );
}

function Content({ projectId, kind, version }: { projectId: string; kind: string; version: number | null }) {
  const content = useVersion(projectId, kind, version);
  return (
    <Loaded query={content} label="Loading the version…">
      {(v) => (
        <article>
          <h3>{v.title}</h3>
          <p className="muted small" data-testid="document-attribution">
            v{v.version} · {formatMoment(v.created_at)} {attribution(v)}
          </p>
          {v.content_type === "text/markdown" ? (
            <div className="doc-content" data-testid="document-markdown">
              <Markdown text={v.content} />
            </div>
          ) : (
            <pre className="doc-content">{v.content}</pre>
          )}
        </article>
      )}
    </Loaded>
  );
}

function Diff({ projectId, kind, from, to }: { projectId: string; kind: string; from: number; to: number | null }) {
  const older = useVersion(projectId, kind, from);
  const newer = useVersion(projectId, kind, to);
  if (older.isPending || newer.isPending) return <Spinner label="Comparing…" />;
  if (!older.data || !newer.data) return <ErrorNote error={older.error ?? newer.error} />;
  const parts = diffLines(older.data.content, newer.data.content);
  return (
    <pre className="diff" aria-label={`Changes from v${from} to v${to}`}>
      {parts.map((part, i) => (
        <span key={i} className={part.added ? "added" : part.removed ? "removed" : "same"}>
          {part.value
            .replace(/\n$/, "")
            .split("\n")
            .map((line) => `${part.added ? "+ " : part.removed ? "- " : "  "}${line}`)
            .join("\n")}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}
