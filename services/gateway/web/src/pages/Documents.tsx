import { diffLines } from "diff";
import { Link, useSearchParams } from "react-router";
import { documentPath, useDocuments, useVersion, useVersions } from "../api/hooks";
import type { DocumentInfo, VersionMeta } from "../api/types";
import { Markdown } from "../lib/Markdown";
import { newest } from "../lib/newest";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded, Spinner, usePlace } from "../ui";
import { agentName } from "../lib/agents";

/** Who wrote a version: the agent, the card it worked on and its run, or a person. */
export function attribution(version: Pick<VersionMeta, "source_run_id" | "author_id" | "agent" | "card_title">): string {
  if (version.source_run_id) {
    const agent = version.agent ? agentName(version.agent) : "an agent";
    const card = version.card_title ? ` on “${version.card_title}”` : "";
    return `by ${agent}${card} (run ${version.source_run_id.slice(0, 8)})`;
  }
  return version.author_id ? "by a person" : "";
}

/** The documents of one card, or the project's own (card null). */
export interface DocumentGroup {
  card: { id: string; title: string } | null;
  documents: DocumentInfo[];
}

/** The project's own documents first, then each card's, cards in the order of their newest document. */
export function groupDocuments(documents: DocumentInfo[]): DocumentGroup[] {
  const byCard = new Map<string | null, DocumentGroup>([[null, { card: null, documents: [] }]]);
  const sorted = [...documents].sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  for (const doc of sorted) {
    const key = doc.card_id ?? null;
    const group = byCard.get(key) ?? { card: { id: doc.card_id ?? "", title: doc.card_title ?? "" }, documents: [] };
    group.documents.push(doc);
    byCard.set(key, group);
  }
  return [...byCard.values()].filter((group) => group.documents.length > 0);
}

/** The document the page shows: the one the address names (a kind, and the card for a card's), else the newest. */
export function chosenDocument(documents: DocumentInfo[], kind: string | null, card: string | null): DocumentInfo | null {
  if (kind) return documents.find((doc) => doc.kind === kind && (doc.card_id ?? null) === card) ?? null;
  return newest(documents, (doc) => doc.updated_at);
}

/** Every document of the project, its own and its cards' (rendered as Markdown), each version and who wrote it,
 * and the difference between any two. */
export function DocumentsPage() {
  const { workspaceId, projectId } = usePlace();
  const [search, setSearch] = useSearchParams();
  const documents = useDocuments(projectId);
  const chosen = chosenDocument(documents.data ?? [], search.get("kind"), search.get("card"));
  const path = chosen ? documentPath(projectId, chosen) : null;
  const versions = useVersions(path);
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
  const open = (doc: DocumentInfo) => set({ kind: doc.kind, card: doc.card_id ?? null, version: null, compare: null });
  const isChosen = (doc: DocumentInfo) => chosen !== null && doc.id === chosen.id;

  return (
    <section className="panel documents">
      <nav className="doc-list" aria-label="Documents">
        <h1>Documents</h1>
        <Loaded query={documents} label="Loading documents…">
          {(list) =>
            list.length === 0 ? (
              <p className="muted">No documents yet; agents write them as they run.</p>
            ) : (
              groupDocuments(list).map((group) => (
                <section key={group.card?.id ?? "project"} className="doc-group" data-testid="document-group">
                  <h3 className="small">
                    {group.card ? (
                      <>
                        Card <Link to={`/w/${workspaceId}/p/${projectId}/board?card=${group.card.id}`}>{group.card.title}</Link>
                      </>
                    ) : (
                      "Project"
                    )}
                  </h3>
                  <ul>
                    {group.documents.map((doc) => (
                      <li key={doc.id}>
                        <button type="button" className={isChosen(doc) ? "link active" : "link"} onClick={() => open(doc)}>
                          {doc.title}
                        </button>
                        <span className="muted small"> v{doc.latest_version}</span>
                      </li>
                    ))}
                  </ul>
                </section>
              ))
            )
          }
        </Loaded>
      </nav>
      <div className="doc-body">
        {!path ? <p className="muted">Choose a document.</p> : null}
        {path ? (
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
                {compare ? <Diff path={path} from={compare} to={version} /> : <Content path={path} version={version} />}
              </>
            )}
          </Loaded>
        ) : null}
      </div>
    </section>
  );
}

function Content({ path, version }: { path: string; version: number | null }) {
  const content = useVersion(path, version);
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

function Diff({ path, from, to }: { path: string; from: number; to: number | null }) {
  const older = useVersion(path, from);
  const newer = useVersion(path, to);
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
