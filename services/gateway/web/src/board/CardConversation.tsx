import { useQuery } from "@tanstack/react-query";
import { useId, useRef, useState, type KeyboardEvent } from "react";
import { api } from "../api/client";
import { keys, useAction, useComments, useMe, useMembers, useWorkspaces } from "../api/hooks";
import type { CardComment, Member, PostedComment, WatchState } from "../api/types";
import { agentName } from "../lib/agents";
import { Markdown } from "../lib/Markdown";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded } from "../ui";
import { applyMention, mentionAt, mentionChoices, type MentionChoice, type MentionQuery } from "./mentions";

interface ConversationProps {
  cardId: string;
  workspaceId: string;
  canWrite: boolean;
}

/** Who wrote a comment, as the thread names them: you, a member by email, or an agent and its run. */
export function commentAuthor(comment: Pick<CardComment, "agent" | "run_id" | "author_id">, me: string | undefined, members: readonly Member[]): string {
  if (comment.agent) return `${agentName(comment.agent)}${comment.run_id ? ` (run ${comment.run_id.slice(0, 8)})` : ""}`;
  if (comment.author_id && comment.author_id === me) return "You";
  return members.find((m) => m.user_id === comment.author_id)?.email ?? "A former member";
}

/** The card's conversation: people's and agents' comments in one Markdown thread, edited and deleted by their author
 * (an owner may delete any), and a composer where `@agent` runs that agent with the comment and `@person` notifies
 * them. */
export function CardConversation({ cardId, workspaceId, canWrite }: ConversationProps) {
  const comments = useComments(cardId);
  const me = useMe().data?.id;
  const members = useMembers(workspaceId).data ?? [];
  const role = useWorkspaces().data?.find((w) => w.id === workspaceId)?.role;
  return (
    <div className="conversation">
      <WatchToggle cardId={cardId} />
      <Loaded query={comments} label="Loading comments…">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">No comments yet. Write one; @PRD or another agent runs it on this card with your words.</p>
          ) : (
            <ul className="comments">
              {list.map((comment) => (
                <Comment key={comment.id} comment={comment} cardId={cardId} author={commentAuthor(comment, me, members)} mine={comment.author_id === me && canWrite} owner={role === "owner"} />
              ))}
            </ul>
          )
        }
      </Loaded>
      {canWrite ? <Composer cardId={cardId} emails={members.filter((m) => m.status === "active").map((m) => m.email)} /> : null}
    </div>
  );
}

function Comment({ comment, cardId, author, mine, owner }: { comment: CardComment; cardId: string; author: string; mine: boolean; owner: boolean }) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const path = `/api/cards/${cardId}/comments/${comment.id}`;
  const remove = useAction(() => api(path, { method: "DELETE" }), [keys.comments(cardId)]);
  if (comment.deleted) {
    return (
      <li data-testid="comment" className="comment deleted">
        <p className="muted small">
          {author} · {formatMoment(comment.created_at)} · <em>deleted</em>
        </p>
      </li>
    );
  }
  return (
    <li data-testid="comment" className="comment">
      <p className="muted small">
        {author} · {formatMoment(comment.created_at)}
        {comment.edited_at ? <span title={`Edited ${formatMoment(comment.edited_at)}`}> · edited</span> : null}
      </p>
      {editing ? <EditForm cardId={cardId} comment={comment} onDone={() => setEditing(false)} /> : <Markdown text={comment.body} />}
      {!editing && (mine || owner) ? (
        <div className="row small">
          {mine ? (
            <button type="button" className="link" onClick={() => setEditing(true)}>
              Edit
            </button>
          ) : null}
          {confirming ? (
            <>
              <button type="button" className="link danger" onClick={() => remove.mutate(undefined)} disabled={remove.isPending}>
                Delete it
              </button>
              <button type="button" className="link" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" className="link" onClick={() => setConfirming(true)}>
              Delete
            </button>
          )}
        </div>
      ) : null}
      <ErrorNote error={remove.error} />
    </li>
  );
}

function EditForm({ cardId, comment, onDone }: { cardId: string; comment: CardComment; onDone: () => void }) {
  const [body, setBody] = useState(comment.body);
  const save = useAction(() => api<CardComment>(`/api/cards/${cardId}/comments/${comment.id}`, { method: "PATCH", body: { body: body.trim() } }), [keys.comments(cardId)]);
  return (
    <form
      className="stack"
      aria-label="Edit the comment"
      onSubmit={(event) => {
        event.preventDefault();
        save.mutate(undefined, { onSuccess: onDone });
      }}
    >
      <textarea aria-label="Edited comment" rows={3} value={body} onChange={(e) => setBody(e.target.value)} maxLength={20000} />
      <div className="row">
        <button type="submit" disabled={!body.trim() || save.isPending}>
          Save
        </button>
        <button type="button" className="link" onClick={onDone}>
          Cancel
        </button>
      </div>
      <ErrorNote error={save.error} />
    </form>
  );
}

function Composer({ cardId, emails }: { cardId: string; emails: string[] }) {
  const [body, setBody] = useState("");
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [active, setActive] = useState(0);
  const [asked, setAsked] = useState<string[]>([]);
  const field = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const choices = query ? mentionChoices(query.text, emails) : [];
  const post = useAction(() => api<PostedComment>(`/api/cards/${cardId}/comments`, { method: "POST", body: { body: body.trim() } }), [keys.comments(cardId), keys.cardRuns(cardId)]);

  const follow = (text: string, caret: number) => {
    setBody(text);
    setQuery(mentionAt(text, caret));
    setActive(0);
  };
  const choose = (choice: MentionChoice) => {
    const element = field.current;
    if (!element || !query) return;
    const next = applyMention(body, query, choice, element.selectionStart);
    setBody(next.text);
    setQuery(null);
    requestAnimationFrame(() => element.setSelectionRange(next.caret, next.caret));
    element.focus();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (choices.length === 0) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      setActive((i) => (i + (event.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(choices[active]!);
    } else if (event.key === "Escape") {
      event.stopPropagation();
      setQuery(null);
    }
  };

  return (
    <form
      className="stack composer"
      aria-label="Add a comment"
      onSubmit={(event) => {
        event.preventDefault();
        post.mutate(undefined, {
          onSuccess: (posted) => {
            setBody("");
            setQuery(null);
            setAsked(posted.runs.map((run) => agentName(run.agent)));
          },
        });
      }}
    >
      <div className="mention-field">
        <textarea
          ref={field}
          aria-label="Comment"
          rows={3}
          placeholder="Write a comment… @ to mention an agent or a person (Markdown)"
          value={body}
          onChange={(e) => follow(e.target.value, e.target.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setQuery(null), 150)}
          maxLength={20000}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={choices.length > 0}
          aria-controls={listId}
          aria-activedescendant={choices.length > 0 ? `${listId}-${active}` : undefined}
        />
        {choices.length > 0 ? (
          <ul id={listId} role="listbox" aria-label="Mention" className="mention-list">
            {choices.map((choice, i) => (
              <li
                key={`${choice.kind}:${choice.handle}`}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? "active" : undefined}
                onMouseDown={(event) => {
                  event.preventDefault();
                  choose(choice);
                }}
              >
                <strong>@{choice.handle}</strong> <span className="muted small">{choice.label}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      <div className="row">
        <button type="submit" disabled={!body.trim() || post.isPending}>
          {post.isPending ? "Sending…" : "Comment"}
        </button>
        {asked.length > 0 ? (
          <span className="muted small" role="status">
            Asked {asked.join(" and ")} to run with your comment.
          </span>
        ) : null}
      </div>
      <ErrorNote error={post.error} />
    </form>
  );
}

function WatchToggle({ cardId }: { cardId: string }) {
  const key = ["card-watch", cardId];
  const state = useQuery({ queryKey: key, queryFn: () => api<WatchState>(`/api/cards/${cardId}/watch`) });
  const toggle = useAction(() => api<WatchState>(`/api/cards/${cardId}/watch`, { method: state.data?.watching ? "DELETE" : "PUT" }), [key]);
  if (!state.data) return null;
  return (
    <button type="button" className="link small" aria-pressed={state.data.watching} onClick={() => toggle.mutate(undefined)} disabled={toggle.isPending} title="Notify me of this card's runs and approvals">
      {state.data.watching ? "Watching" : "Watch"}
    </button>
  );
}
