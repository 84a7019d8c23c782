// Pure helpers of the project's repository page: the clone command, the path being browsed, its entries' order
// and the cards each branch belongs to.

/** The clone URL as an absolute address (the API may answer it relative to the gateway). */
export function absoluteUrl(url: string, origin: string): string {
  return new URL(url, origin).href;
}

/** The command that clones the repository; git asks for a user name (any) and a workspace API key as password. */
export function cloneCommand(url: string): string {
  return `git clone ${url}`;
}

/** The directories of a path, from the root, each with the path that opens it. */
export function crumbs(path: string): { name: string; path: string }[] {
  const parts = path.split("/").filter(Boolean);
  return parts.map((name, i) => ({ name, path: parts.slice(0, i + 1).join("/") }));
}

/** The directory above a path ("" is the root, which has none). */
export function parentOf(path: string): string | null {
  const parts = path.split("/").filter(Boolean);
  return parts.length === 0 ? null : parts.slice(0, -1).join("/");
}

/** A directory's entries as people expect them: directories first, then by name. */
export function sortEntries<T extends { name: string; type: string }>(entries: readonly T[]): T[] {
  const rank = (entry: T) => (entry.type === "dir" ? 0 : 1);
  return [...entries].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** A file size for people. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Each branch with the cards it belongs to (titles from the board; a card no longer on it is left out). */
export function branchCards<B extends { card_ids: readonly string[] }>(
  branches: readonly B[],
  titles: ReadonlyMap<string, string>,
): (B & { cards: { id: string; title: string }[] })[] {
  return branches.map((branch) => ({
    ...branch,
    cards: branch.card_ids.flatMap((id) => {
      const title = titles.get(id);
      return title === undefined ? [] : [{ id, title }];
    }),
  }));
}

/** Where the zip of a ref downloads from. */
export function archiveHref(projectId: string, ref: string): string {
  return `/api/projects/${projectId}/repository/archive.zip?${new URLSearchParams({ ref }).toString()}`;
}
