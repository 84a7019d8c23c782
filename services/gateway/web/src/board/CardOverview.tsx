// The drawer's Overview: the card's fields (editable by writers), its parent, what agents added, its children.

import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation, useParams, useSearchParams } from "react-router";
import { cardPath } from "./address";
import { api } from "../api/client";
import { keys, useAction, useChildren } from "../api/hooks";
import type { CardUpdate } from "../api/generated/openapi/core";
import type { Card } from "../api/types";
import { ErrorNote, Loaded } from "../ui";
import { CardExtras } from "./CardExtras";
import { CARD_CHOICES, CHOICE_FIELDS, type ChoiceField } from "./cardChoices";
import { changedChoices, followCard, formOf, isDirty } from "./cardForm";

/** The card's own content: fields, parent, criteria, checklist, images and child cards. */
export function CardOverview({ card, canWrite, boardId }: { card: Card; canWrite: boolean; boardId: string }) {
  return (
    <>
      <CardFields card={card} canWrite={canWrite} boardId={boardId} />
      {card.parent_id ? <ParentLink parentId={card.parent_id} /> : null}
      <CardExtras card={card} />
      <Children card={card} canWrite={canWrite} />
    </>
  );
}

type CardPatch = Pick<CardUpdate, "title" | "description" | ChoiceField>;

function CardFields({ card, canWrite, boardId }: { card: Card; canWrite: boolean; boardId: string }) {
  const [form, setForm] = useState(() => formOf(card));
  const [shown, setShown] = useState(card);
  const [changedUnderEdit, setChangedUnderEdit] = useState(false);
  if (shown !== card) {
    // The saved card changed (a run's update, another person, this form's own save): follow it unless edited.
    const followed = followCard(form, shown, card);
    setShown(card);
    setForm(followed.form);
    setChangedUnderEdit(followed.changedUnderEdit);
  }
  const save = useAction(
    (body: CardPatch) => api<Card>(`/api/cards/${card.id}`, { method: "PATCH", body }),
    [["card", card.id], keys.board(boardId)],
  );
  const dirty = isDirty(form, card);
  function submit(event: FormEvent) {
    event.preventDefault();
    const picked = Object.fromEntries(changedChoices(form, card).map((field) => [field, form.choices[field]]));
    save.mutate({ title: form.title.trim(), description: form.description, ...picked });
  }
  function takeSaved() {
    setForm(formOf(card));
    setChangedUnderEdit(false);
  }
  if (!canWrite) {
    return (
      <div>
        <p className="muted">
          {CHOICE_FIELDS.map((field) => `${CARD_CHOICES[field].label}: ${card[field]}`).join(" · ")}
        </p>
        <p className="pre">{card.description || <span className="muted">No description.</span>}</p>
      </div>
    );
  }
  return (
    <form onSubmit={submit} className="stack" aria-label="Card fields">
      <input className="title-input" aria-label="Title" value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} required maxLength={200} />
      <div className="row">
        {CHOICE_FIELDS.map((field) => (
          <label key={field}>
            {CARD_CHOICES[field].label}{" "}
            <select aria-label={CARD_CHOICES[field].label} value={form.choices[field]} onChange={(e) => setForm({ ...form, choices: { ...form.choices, [field]: e.target.value } })}>
              {Object.entries(CARD_CHOICES[field].names).map(([value, name]) => (
                <option key={value} value={value}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <textarea aria-label="Description" rows={4} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} placeholder="Describe the work…" />
      {changedUnderEdit && dirty ? (
        <p className="note" role="status" data-testid="card-changed">
          The card changed while you were editing.{" "}
          <button type="button" className="link" onClick={takeSaved}>
            Show the saved card
          </button>
        </p>
      ) : null}
      <div className="row">
        <button type="submit" className="primary" disabled={!dirty || save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </button>
        {save.isSuccess && !dirty ? <span className="muted">Saved</span> : null}
      </div>
      <ErrorNote error={save.error} />
    </form>
  );
}

/** A link that opens another card in the drawer, in place of this one (by its short id once known; a card's id
 * in the address gives way to it). */
function CardLink({ cardRef, title }: { cardRef: string; title: string }) {
  const [search] = useSearchParams();
  const location = useLocation();
  const { workspaceId = "", projectId = "" } = useParams();
  return (
    <Link to={cardPath(workspaceId, projectId, cardRef, search)} replace state={location.state as unknown} data-testid="card-link">
      {title}
    </Link>
  );
}

function ParentLink({ parentId }: { parentId: string }) {
  const parent = useQuery({ queryKey: ["card", parentId], queryFn: () => api<Card>(`/api/cards/${parentId}`) });
  return (
    <p className="muted" data-testid="parent-card">
      Child of <CardLink cardRef={parent.data?.human_id ?? parentId} title={parent.data?.title ?? "its parent card"} />
    </p>
  );
}

function Children({ card, canWrite }: { card: Card; canWrite: boolean }) {
  const children = useChildren(card.id);
  const [title, setTitle] = useState("");
  const add = useAction(
    () => api<Card>(`/api/projects/${card.project_id}/cards`, { method: "POST", body: { title: title.trim(), parent_id: card.id } }),
    [keys.children(card.id), keys.board(card.board_id)],
  );
  return (
    <section>
      <h3>Child cards</h3>
      <Loaded query={children} label="Loading child cards…">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {list.map((child) => (
                <li key={child.id}>
                  <CardLink cardRef={child.human_id} title={child.title} />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {canWrite ? (
        <form
          className="row"
          onSubmit={(event) => {
            event.preventDefault();
            add.mutate(undefined, { onSuccess: () => setTitle("") });
          }}
        >
          <input aria-label="Child card title" placeholder="Add a child card…" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={200} />
          <button type="submit" disabled={!title.trim() || add.isPending}>
            Add
          </button>
        </form>
      ) : null}
      <ErrorNote error={add.error} />
    </section>
  );
}
