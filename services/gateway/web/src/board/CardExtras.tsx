import { useState } from "react";
import { api } from "../api/client";
import { keys, useAction, useCardImages, useComments } from "../api/hooks";
import type { Card, CardComment, CardImage } from "../api/types";
import { Markdown } from "../lib/Markdown";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded } from "../ui";
import { agentName } from "../lib/agents";

/** Who wrote a comment: the agent and its run, or a person. */
export function commentAuthor(comment: Pick<CardComment, "agent" | "run_id">): string {
  if (!comment.agent) return "A person";
  return `${agentName(comment.agent)}${comment.run_id ? ` (run ${comment.run_id.slice(0, 8)})` : ""}`;
}

/** Where the browser reads an image's bytes (core serves them to the card's workspace). */
export function imageFileUrl(image: Pick<CardImage, "card_id" | "id">): string {
  return `/api/cards/${image.card_id}/images/${image.id}/file`;
}

/** What agents and people added to a card beyond its fields: criteria, checklist and images. */
export function CardExtras({ card }: { card: Card }) {
  return (
    <>
      <AcceptanceCriteria criteria={card.acceptance_criteria} />
      <Checklist items={card.checklist} />
      <Images cardId={card.id} />
    </>
  );
}

function AcceptanceCriteria({ criteria }: { criteria: string[] }) {
  if (criteria.length === 0) return null;
  return (
    <section aria-label="Acceptance criteria">
      <h3>Acceptance criteria</h3>
      <ul>
        {criteria.map((criterion, i) => (
          <li key={i}>{criterion}</li>
        ))}
      </ul>
    </section>
  );
}

function Checklist({ items }: { items: Card["checklist"] }) {
  if (items.length === 0) return null;
  const done = items.filter((item) => item.done).length;
  return (
    <section aria-label="Checklist">
      <h3>
        Checklist <span className="muted small">{`${done} of ${items.length} done`}</span>
      </h3>
      <ul className="checklist">
        {items.map((item, i) => (
          <li key={i}>
            <label>
              <input type="checkbox" checked={item.done} readOnly disabled /> {item.text}
            </label>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Images({ cardId }: { cardId: string }) {
  const images = useCardImages(cardId);
  if (!images.data?.length) return <ErrorNote error={images.error} />;
  return (
    <section aria-label="Images">
      <h3>Images</h3>
      <div className="card-images">
        {images.data.map((image) => (
          <figure key={image.id}>
            <a href={imageFileUrl(image)} target="_blank" rel="noreferrer">
              <img src={imageFileUrl(image)} alt={image.prompt} loading="lazy" />
            </a>
            <figcaption className="muted small">
              {image.name} · by {agentName(image.agent)} · {formatMoment(image.created_at)}
            </figcaption>
          </figure>
        ))}
      </div>
    </section>
  );
}

/** The card's comments, by people and agents, and a form to add one. */
export function CardComments({ cardId, canWrite }: { cardId: string; canWrite: boolean }) {
  const comments = useComments(cardId);
  const [body, setBody] = useState("");
  const add = useAction(() => api<CardComment>(`/api/cards/${cardId}/comments`, { method: "POST", body: { body: body.trim() } }), [keys.comments(cardId)]);
  return (
    <section aria-label="Comments">
      <h3>Comments</h3>
      <Loaded query={comments} label="Loading comments…">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">No comments yet.</p>
          ) : (
            <ul className="comments">
              {list.map((comment) => (
                <li key={comment.id} data-testid="comment">
                  <p className="muted small">
                    {commentAuthor(comment)} · {formatMoment(comment.created_at)}
                  </p>
                  <Markdown text={comment.body} />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {canWrite ? (
        <form
          className="stack"
          aria-label="Add a comment"
          onSubmit={(event) => {
            event.preventDefault();
            add.mutate(undefined, { onSuccess: () => setBody("") });
          }}
        >
          <textarea aria-label="Comment" rows={2} placeholder="Write a comment…" value={body} onChange={(e) => setBody(e.target.value)} maxLength={20000} />
          <div className="row">
            <button type="submit" disabled={!body.trim() || add.isPending}>
              {add.isPending ? "Adding…" : "Comment"}
            </button>
          </div>
        </form>
      ) : null}
      <ErrorNote error={add.error} />
    </section>
  );
}
