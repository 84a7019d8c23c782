// Data fetching: one react-query hook per resource, keys shared so mutations and live events can refresh them.

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "./client";
import type {
  AgentConfig, ApiKey, BillingSummary, Board, Card, CardCode, CardPage, CardDocument, CardComment, CardImage, CardDocumentVersion, CardRuns, CommandRun, DocumentInfo, InvoicePage, Member,
  ModelChoice, NewApiKey, ProjectPage, Repository, RepositoryFiles, Usage, User, Version, VersionPage, Workspace,
} from "./types";

export const keys = {
  me: ["me"] as const,
  workspaces: ["workspaces"] as const,
  projects: (ws: string) => ["projects", ws] as const,
  board: (id: string) => ["board", id] as const,
  archived: (project: string) => ["archived-cards", project] as const,
  cardByRef: (workspace: string, ref: string) => ["card-by-ref", workspace, ref] as const,
  cardRuns: (id: string) => ["card-runs", id] as const,
  children: (id: string) => ["card-children", id] as const,
  cardDocuments: (id: string) => ["card-documents", id] as const,
  comments: (id: string) => ["card-comments", id] as const,
  images: (id: string) => ["card-images", id] as const,
  cardDocument: (id: string, name: string, version: number) => ["card-document", id, name, version] as const,
  agents: (project: string) => ["agents", project] as const,
  models: ["models"] as const,
  documents: (project: string) => ["documents", project] as const,
  versions: (documentPath: string) => ["versions", documentPath] as const,
  version: (documentPath: string, v: number) => ["version", documentPath, v] as const,
  members: (ws: string) => ["members", ws] as const,
  apiKeys: (ws: string) => ["api-keys", ws] as const,
  usage: (ws: string, query: string) => ["usage", ws, query] as const,
  billing: (ws: string) => ["billing", ws] as const,
  invoices: (ws: string) => ["invoices", ws] as const,
  cardCode: (id: string) => ["card-code", id] as const,
  cardCommands: (id: string) => ["card-commands", id] as const,
  repository: (project: string) => ["repository", project] as const,
  repositoryFiles: (project: string, ref: string, path: string) => ["repository", project, "files", ref, path] as const,
};

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: () => api<User>("/api/me"), retry: false, staleTime: 60_000 });
}

export function useWorkspaces(enabled = true) {
  return useQuery({ queryKey: keys.workspaces, queryFn: () => api<Workspace[]>("/api/workspaces"), enabled });
}

export function useProjects(workspaceId: string | undefined) {
  return useQuery({
    queryKey: keys.projects(workspaceId ?? ""),
    queryFn: () => api<ProjectPage>(`/api/workspaces/${workspaceId}/projects?limit=100`).then((p) => p.items),
    enabled: Boolean(workspaceId),
  });
}

export function useBoard(boardId: string | null | undefined) {
  return useQuery({
    queryKey: keys.board(boardId ?? ""),
    queryFn: () => api<Board>(`/api/boards/${boardId}`),
    enabled: Boolean(boardId),
  });
}

/** A project's archived cards, oldest first, a page at a time. */
export function useArchivedCards(projectId: string) {
  return useInfiniteQuery({
    queryKey: keys.archived(projectId),
    queryFn: ({ pageParam }) => {
      const query = new URLSearchParams({ archived: "true", limit: "50" });
      if (pageParam) query.set("cursor", pageParam);
      return api<CardPage>(`/api/projects/${projectId}/cards?${query.toString()}`);
    },
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** Run states that have not ended yet (a run in them can be cancelled, not re-run). */
export const ACTIVE_RUN = new Set(["queued", "running", "requested"]);

/** A card's runs; polled while one is still going, since core records a run's end a moment after the terminal shows it. */
export function useCardRuns(cardId: string) {
  return useQuery({
    queryKey: keys.cardRuns(cardId),
    queryFn: () => api<CardRuns>(`/api/cards/${cardId}/runs`),
    refetchInterval: (query) => (query.state.data?.runs.some((r) => ACTIVE_RUN.has(r.status)) ? 1500 : false),
  });
}

export function useChildren(cardId: string) {
  return useQuery({
    queryKey: keys.children(cardId),
    queryFn: () => api<Card[]>(`/api/cards/${cardId}/children`),
  });
}

/** A card's comments, oldest first, by people and by agents' runs. */
export function useComments(cardId: string) {
  return useQuery({ queryKey: keys.comments(cardId), queryFn: () => api<CardComment[]>(`/api/cards/${cardId}/comments`) });
}

/** The images agents generated for a card. */
export function useCardImages(cardId: string) {
  return useQuery({ queryKey: keys.images(cardId), queryFn: () => api<CardImage[]>(`/api/cards/${cardId}/images`) });
}

/** A card's own documents, newest version of each, with who wrote it. */
export function useCardDocuments(cardId: string) {
  return useQuery({ queryKey: keys.cardDocuments(cardId), queryFn: () => api<CardDocument[]>(`/api/cards/${cardId}/documents`) });
}

/** A card's document at its newest version, with content (keyed by version: a version never changes). */
export function useCardDocument(cardId: string, name: string | null, version: number) {
  return useQuery({
    queryKey: keys.cardDocument(cardId, name ?? "", version),
    queryFn: () => api<CardDocumentVersion>(`/api/cards/${cardId}/documents/${name}`),
    enabled: Boolean(name),
    staleTime: Infinity,
  });
}

export function useAgentConfigs(projectId: string) {
  return useQuery({ queryKey: keys.agents(projectId), queryFn: () => api<AgentConfig[]>(`/api/projects/${projectId}/agents`) });
}

export function useModels() {
  return useQuery({ queryKey: keys.models, queryFn: () => api<ModelChoice[]>("/api/models"), staleTime: 300_000 });
}

export function useDocuments(projectId: string) {
  return useQuery({
    queryKey: keys.documents(projectId),
    queryFn: () => api<DocumentInfo[]>(`/api/projects/${projectId}/documents`),
  });
}

/** Where a document lives: the project's own under the project, a card's under its card (each its own lineage). */
export function documentPath(projectId: string, doc: Pick<DocumentInfo, "kind" | "card_id">): string {
  return doc.card_id ? `/api/cards/${doc.card_id}/documents/${doc.kind}` : `/api/projects/${projectId}/documents/${doc.kind}`;
}

/** A document's versions, newest first (shared by the documents page and the card's artifacts). */
export function versionsQuery(path: string) {
  return {
    queryKey: keys.versions(path),
    queryFn: () => api<VersionPage>(`${path}/versions?limit=100`).then((p) => p.items),
  };
}

export function useVersions(path: string | null) {
  return useQuery({ ...versionsQuery(path ?? ""), enabled: Boolean(path) });
}

export function useVersion(path: string | null, version: number | null) {
  return useQuery({
    queryKey: keys.version(path ?? "", version ?? 0),
    queryFn: () => api<Version>(`${path}/versions/${version}`),
    enabled: Boolean(path) && version !== null && version > 0,
    staleTime: Infinity, // a version never changes
  });
}

export function useMembers(workspaceId: string) {
  return useQuery({
    queryKey: keys.members(workspaceId),
    queryFn: () => api<Member[]>(`/api/workspaces/${workspaceId}/members`),
  });
}

export function useApiKeys(workspaceId: string) {
  return useQuery({ queryKey: keys.apiKeys(workspaceId), queryFn: () => api<ApiKey[]>(`/api/workspaces/${workspaceId}/api-keys`) });
}

export function useUsage(workspaceId: string, query: string) {
  return useQuery({
    queryKey: keys.usage(workspaceId, query),
    queryFn: () => api<Usage>(`/api/workspaces/${workspaceId}/usage?${query}`),
  });
}

export function useBilling(workspaceId: string) {
  return useQuery({ queryKey: keys.billing(workspaceId), queryFn: () => api<BillingSummary>(`/api/workspaces/${workspaceId}/billing`) });
}

export function useInvoices(workspaceId: string) {
  return useQuery({
    queryKey: keys.invoices(workspaceId),
    queryFn: () => api<InvoicePage>(`/api/workspaces/${workspaceId}/invoices?limit=50`).then((p) => p.items),
  });
}

/** A card's branch: its commits and diff against the default branch; read again every few seconds while `live`
 * (a run of the card is going, and may commit). */
export function useCardCode(cardId: string, live: boolean) {
  return useQuery({
    queryKey: keys.cardCode(cardId),
    queryFn: () => api<CardCode>(`/api/cards/${cardId}/code`),
    refetchInterval: live ? 3000 : false,
  });
}

/** The commands agents ran in the card's working copy, newest first; read again every few seconds while `live`. */
export function useCardCommands(cardId: string, live: boolean) {
  return useQuery({
    queryKey: keys.cardCommands(cardId),
    queryFn: () => api<CommandRun[]>(`/api/cards/${cardId}/code/commands`),
    refetchInterval: live ? 3000 : false,
  });
}

/** The project's repository: default branch, clone URL, remote and branches. */
export function useRepository(projectId: string) {
  return useQuery({ queryKey: keys.repository(projectId), queryFn: () => api<Repository>(`/api/projects/${projectId}/repository`) });
}

/** One directory of a ref. */
export function useRepositoryFiles(projectId: string, ref: string, path: string) {
  const query = new URLSearchParams({ ref, path }).toString();
  return useQuery({
    queryKey: keys.repositoryFiles(projectId, ref, path),
    queryFn: () => api<RepositoryFiles>(`/api/projects/${projectId}/repository/files?${query}`),
    enabled: Boolean(ref),
  });
}

/** A mutation that refreshes the given queries when it succeeds. */
export function useAction<TBody, TResult>(
  run: (body: TBody) => Promise<TResult>,
  refresh: ReadonlyArray<readonly unknown[]> = [],
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: async () => {
      await Promise.all(refresh.map((key) => client.invalidateQueries({ queryKey: key })));
    },
  });
}

export type { NewApiKey };
