import { useRef, useState, type FormEvent } from "react";
import { streamEvents } from "../api/client";
import { formatCost, formatPrice } from "../lib/money";
import { can, ErrorNote, usePlace } from "../ui";

interface Exchange {
  question: string;
  answer: string;
  done: boolean;
  cost?: string | null;
  price?: string | null;
}

/** Lane 0's console: ask the CEO CoPilot about the project; the answer streams in. */
export function ConsolePage() {
  const { projectId, project, role } = usePlace();
  const [history, setHistory] = useState<Exchange[]>([]);
  const [question, setQuestion] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef<AbortController | null>(null);

  const update = (patch: (e: Exchange) => Exchange) =>
    setHistory((items) => items.map((item, i) => (i === items.length - 1 ? patch(item) : item)));

  async function ask(event: FormEvent) {
    event.preventDefault();
    const text = question.trim();
    if (!text) return;
    setHistory((items) => [...items, { question: text, answer: "", done: false }]);
    setQuestion("");
    setError(null);
    setBusy(true);
    abort.current = new AbortController();
    try {
      await streamEvents(
        `/api/projects/${projectId}/copilot`,
        { question: text },
        (_event, data) => {
          if (data === "[DONE]") return;
          const payload = JSON.parse(data) as { delta?: string; status?: string; cost?: string; price?: string };
          if (payload.delta) update((e) => ({ ...e, answer: e.answer + payload.delta }));
          if (payload.status) update((e) => ({ ...e, done: true, cost: payload.cost ?? null, price: payload.price ?? null }));
        },
        abort.current.signal,
      );
      update((e) => ({ ...e, done: true }));
    } catch (caught) {
      if (!(caught instanceof DOMException && caught.name === "AbortError")) setError(caught);
      update((e) => ({ ...e, done: true }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel console">
      <h1>CEO CoPilot {project ? <span className="muted">· {project.name}</span> : null}</h1>
      <div className="console-log" aria-live="polite">
        {history.length === 0 ? <p className="muted">Ask about vision, strategy, priorities or risks of this project.</p> : null}
        {history.map((item, i) => (
          <div key={i} className="exchange">
            <p className="question">{item.question}</p>
            <p className="answer pre" data-testid="copilot-answer">
              {item.answer || (item.done ? "" : "…")}
            </p>
            {item.done && item.price !== undefined ? (
              <p className="muted small">
                cost {formatCost(item.cost)} · price {formatPrice(item.price)}
              </p>
            ) : null}
          </div>
        ))}
      </div>
      <ErrorNote error={error} />
      {can(role, "run") ? (
        <form onSubmit={ask} className="row">
          <input aria-label="Question" value={question} onChange={(e) => setQuestion(e.target.value)} placeholder="What should we build first?" maxLength={4000} />
          {busy ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" className="primary" disabled={!question.trim()}>
              Ask
            </button>
          )}
        </form>
      ) : (
        <p className="muted">Viewers can read the board but not ask the CoPilot.</p>
      )}
    </section>
  );
}
