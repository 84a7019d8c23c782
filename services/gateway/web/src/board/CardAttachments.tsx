// The drawer's Attachments: the card's files, uploaded by members (the server reads what each file is from its
// bytes and refuses other kinds), downloaded as attachments, deleted by members.

import { useQuery } from "@tanstack/react-query";
import { useRef, useState, type ChangeEvent } from "react";
import { api, ApiError } from "../api/client";
import { useAction } from "../api/hooks";
import type { Attachment } from "../api/types";
import { formatMoment } from "../lib/time";
import { ErrorNote, Loaded } from "../ui";

const attachmentsKey = (cardId: string) => ["attachments", cardId] as const;

/** Sends the file's bytes as the request's body; the API answers the attachment or its error envelope. */
async function upload(cardId: string, file: File): Promise<Attachment> {
  const response = await fetch(`/api/cards/${cardId}/attachments?filename=${encodeURIComponent(file.name)}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/octet-stream", Accept: "application/json" },
    body: file,
  });
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!response.ok) throw new ApiError(response.status, body.error?.code ?? "http_error", body.error?.message ?? `Upload failed (${response.status}).`);
  return body as Attachment;
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function CardAttachments({ cardId, canWrite }: { cardId: string; canWrite: boolean }) {
  const list = useQuery({ queryKey: attachmentsKey(cardId), queryFn: () => api<Attachment[]>(`/api/cards/${cardId}/attachments`) });
  const input = useRef<HTMLInputElement>(null);
  const [picked, setPicked] = useState(0);
  const add = useAction((file: File) => upload(cardId, file), [attachmentsKey(cardId)]);
  const remove = useAction((id: string) => api<void>(`/api/cards/${cardId}/attachments/${id}`, { method: "DELETE" }), [attachmentsKey(cardId)]);
  function choose(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    if (file) add.mutate(file, { onSettled: () => setPicked((n) => n + 1) });
  }
  return (
    <div className="stack" data-testid="card-attachments">
      <Loaded query={list} label="Loading attachments…">
        {(files) =>
          files.length === 0 ? (
            <p className="muted">No attachments.</p>
          ) : (
            <ul className="attachments">
              {files.map((file) => (
                <li key={file.id}>
                  <a href={`/api/cards/${cardId}/attachments/${file.id}/file`} download={file.filename}>
                    {file.filename}
                  </a>{" "}
                  <span className="muted">
                    {size(file.size)} · {formatMoment(file.created_at)}
                  </span>
                  {canWrite ? (
                    <button type="button" className="link" aria-label={`Delete ${file.filename}`} onClick={() => remove.mutate(file.id)}>
                      Delete
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {canWrite ? (
        <label>
          Attach a file (PNG, JPEG, GIF, WebP, PDF or text, up to 2 MB){" "}
          <input key={picked} ref={input} type="file" aria-label="Attach a file" onChange={choose} disabled={add.isPending} />
        </label>
      ) : null}
      <ErrorNote error={add.error ?? remove.error} />
    </div>
  );
}
