// Pure helpers of the project's repository page: the clone command, the path being browsed and the card each
// branch belongs to.

/** The clone URL as an absolute address (the API may answer it relative to the gateway's page). */
export function absoluteUrl(url: string, page: string | undefined): string {
  return page === undefined ? url : new URL(url, page).href;
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

/** A file size for people. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Each branch with the card it belongs to (its title from the board; a card no longer on it is left out). */
export function branchCards<B extends { card_id: string | null }>(
  branches: readonly B[],
  titles: ReadonlyMap<string, string>,
): (B & { card: { id: string; title: string } | null })[] {
  return branches.map((branch) => {
    const title = branch.card_id === null ? undefined : titles.get(branch.card_id);
    return { ...branch, card: branch.card_id !== null && title !== undefined ? { id: branch.card_id, title } : null };
  });
}

/** Where the zip of a ref downloads from. */
export function archiveHref(projectId: string, ref: string): string {
  return `/api/projects/${projectId}/repository/archive.zip?${new URLSearchParams({ ref }).toString()}`;
}
