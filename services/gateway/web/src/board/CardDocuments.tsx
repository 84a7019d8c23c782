import { useState } from "react";
import { useCardDocument, useCardDocuments } from "../api/hooks";
import type { CardDocument } from "../api/types";
import { Markdown } from "../lib/Markdown";
import { newest } from "../lib/newest";
import { formatMoment } from "../lib/time";
import { Loaded } from "../ui";
import { agentName } from "../lib/agents";

/** Who wrote a card document's version: the agent and its run, or a person. */
export function writtenBy(doc: Pick<CardDocument, "agent" | "run_id" | "author_id">): string {
  if (doc.agent) return `by ${agentName(doc.agent)}${doc.run_id ? ` (run ${doc.run_id.slice(0, 8)})` : ""}`;
  return doc.author_id ? "by a person" : "";
}

/** The card's own documents, opened on the newest, rendered as Markdown with who wrote each. */
export function CardDocuments({ cardId }: { cardId: string }) {
  const documents = useCardDocuments(cardId);
  const [chosen, setChosen] = useState<string | null>(null);
  if (!documents.data) return null;
  if (documents.data.length === 0) return <p className="muted">No documents yet: the agents of the card's lanes write them.</p>;
  const list = documents.data;
  const open = list.find((doc) => doc.name === chosen) ?? newest(list, (doc) => doc.created_at)!;
  return (
    <section aria-label="Card documents">
      <div className="tabs light" role="tablist">
        {list.map((doc) => (
          <button key={doc.name} type="button" role="tab" aria-selected={doc.name === open.name} className={doc.name === open.name ? "tab active" : "tab"} onClick={() => setChosen(doc.name)}>
            {doc.title}
          </button>
        ))}
      </div>
      <p className="muted small" data-testid="card-document-attribution">
        v{open.version} · {formatMoment(open.created_at)} {writtenBy(open)} · this card
      </p>
      <DocumentContent cardId={cardId} doc={open} />
    </section>
  );
}

function DocumentContent({ cardId, doc }: { cardId: string; doc: CardDocument }) {
  const content = useCardDocument(cardId, doc.name, doc.version);
  return (
    <Loaded query={content} label="Loading the document…">
      {(version) =>
        version.content_type === "text/markdown" ? (
          <div className="doc-content" data-testid="card-document">
            <Markdown text={version.content} />
          </div>
        ) : (
          <pre className="doc-content">{version.content}</pre>
        )
      }
    </Loaded>
  );
}
