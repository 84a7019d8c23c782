import { useCardImages } from "../api/hooks";
import type { Card, CardImage } from "../api/types";
import { formatMoment } from "../lib/time";
import { ErrorNote } from "../ui";
import { agentName } from "../lib/agents";

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
