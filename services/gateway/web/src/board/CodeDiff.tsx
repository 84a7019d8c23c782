// The branch's diff, rendered by react-diff-view and highlighted by refractor (Prism grammars as virtual nodes):
// both build React elements, never HTML strings, so nothing in a diff is ever parsed as markup. Loaded lazily by
// the Code tab, with only the grammars of GRAMMAR_BY_EXTENSION registered.

import { useMemo } from "react";
import { Diff, Hunk, parseDiff, tokenize, type FileData, type HunkTokens, type ViewType } from "react-diff-view";
import "react-diff-view/style/index.css";
import { refractor } from "refractor/core";
import bash from "refractor/bash";
import css from "refractor/css";
import docker from "refractor/docker";
import go from "refractor/go";
import java from "refractor/java";
import javascript from "refractor/javascript";
import json from "refractor/json";
import jsx from "refractor/jsx";
import makefile from "refractor/makefile";
import markdown from "refractor/markdown";
import markup from "refractor/markup";
import python from "refractor/python";
import rust from "refractor/rust";
import sql from "refractor/sql";
import toml from "refractor/toml";
import tsx from "refractor/tsx";
import typescript from "refractor/typescript";
import yaml from "refractor/yaml";
import { grammarOf } from "./codeView";

for (const grammar of [bash, css, docker, go, java, javascript, json, jsx, makefile, markdown, markup, python, rust, sql, toml, tsx, typescript, yaml]) {
  refractor.register(grammar);
}

/** The grammars this module registered (the helpers' table names no other). */
export function registeredGrammars(): string[] {
  return refractor.listLanguages();
}

// react-diff-view speaks refractor 2's API, whose highlight answered the nodes; refractor 5 answers their root.
const highlighter = { highlight: (text: string, language: string) => refractor.highlight(text, language).children };

/** The tokens of a file's hunks, highlighted when its grammar is known; plain text when it is not (or fails). */
export function tokensOf(file: FileData): HunkTokens | undefined {
  const language = grammarOf(file.newPath || file.oldPath);
  if (!language || file.hunks.length === 0) return undefined;
  try {
    return tokenize(file.hunks, { highlight: true, refractor: highlighter as never, language });
  } catch {
    return undefined;
  }
}

/** The files of a unified diff, or null when the text is not one git wrote (then it is shown as text). */
export function filesOf(diff: string): FileData[] | null {
  try {
    const files = parseDiff(diff, { nearbySequences: "zip" });
    const named = files.length > 0 && files.every((file) => file.oldPath || file.newPath);
    return named || diff.trim() === "" ? files : null;
  } catch {
    return null;
  }
}

export default function CodeDiff({ diff, viewType }: { diff: string; viewType: ViewType }) {
  const files = useMemo(() => filesOf(diff), [diff]);
  if (files === null) return <pre className="code-output">{diff}</pre>;
  return (
    <div className="code-diff">
      {files.map((file) => (
        <FileDiff key={`${file.oldPath}->${file.newPath}`} file={file} viewType={viewType} />
      ))}
    </div>
  );
}

function FileDiff({ file, viewType }: { file: FileData; viewType: ViewType }) {
  const tokens = useMemo(() => tokensOf(file), [file]);
  const path = file.type === "delete" ? file.oldPath : file.newPath;
  const renamed = file.type === "rename" ? `${file.oldPath} → ` : "";
  return (
    <section className="code-file" data-testid="diff-file" aria-label={`Changes to ${path}`}>
      <h5 className="code-file-name">
        {renamed}
        {path} <span className="muted small">{file.type === "add" ? "added" : file.type === "delete" ? "deleted" : file.type === "rename" ? "renamed" : "modified"}</span>
      </h5>
      {file.hunks.length === 0 ? (
        <p className="muted small">No text changes to show (a binary file or a mode change).</p>
      ) : (
        <Diff viewType={viewType} diffType={file.type} hunks={file.hunks} tokens={tokens}>
          {(hunks) => hunks.map((hunk) => <Hunk key={hunk.content} hunk={hunk} />)}
        </Diff>
      )}
    </section>
  );
}
