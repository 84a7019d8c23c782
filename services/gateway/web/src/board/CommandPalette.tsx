// The command palette (Ctrl/Cmd+K): open a card by its title, run a board action, or go to another page.
// cmdk supplies the accessible combobox and listbox, the fuzzy matching and the dialog's focus handling.

import { Command } from "cmdk";
import { useNavigate } from "react-router";
import type { Board } from "../api/types";
import { useTheme } from "../lib/theme";

export interface PaletteActions {
  openCard: (cardId: string) => void;
  createCard: () => void;
  focusSearch: () => void;
  showAwaiting: () => void;
  clearFilters: () => void;
  showHelp: () => void;
}

interface PaletteProps {
  board: Board;
  workspaceId: string;
  projectId: string;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  actions: PaletteActions;
}

export function CommandPalette({ board, workspaceId, projectId, open, onOpenChange, actions }: PaletteProps) {
  const navigate = useNavigate();
  const { theme, picked, toggle, followSystem } = useTheme();
  // Each command closes the palette first, so focus can move where the command sends it.
  const run = (command: () => void) => () => {
    onOpenChange(false);
    command();
  };
  const project = `/w/${workspaceId}/p/${projectId}`;
  const pages = [
    ["Documents", `${project}/documents`],
    ["Console", `${project}/console`],
    ["Repository", `${project}/repository`],
    ["Providers", `${project}/providers`],
    ["Usage", `/w/${workspaceId}/usage`],
    ["Billing", `/w/${workspaceId}/billing`],
    ["Members", `/w/${workspaceId}/members`],
  ] as const;
  return (
    <Command.Dialog open={open} onOpenChange={onOpenChange} label="Command palette" contentClassName="palette" overlayClassName="palette-overlay">
      <Command.Input placeholder="Open a card, run a command, go to a page…" aria-label="Command" />
      <Command.List>
        <Command.Empty>Nothing matches.</Command.Empty>
        <Command.Group heading="Actions">
          <Command.Item onSelect={run(actions.createCard)}>Create a card</Command.Item>
          <Command.Item onSelect={run(actions.focusSearch)}>Search cards</Command.Item>
          <Command.Item onSelect={run(actions.showAwaiting)}>Show cards awaiting approval</Command.Item>
          <Command.Item onSelect={run(actions.clearFilters)}>Clear filters</Command.Item>
          <Command.Item onSelect={run(toggle)}>{theme === "dark" ? "Switch to the light theme" : "Switch to the dark theme"}</Command.Item>
          {picked ? <Command.Item onSelect={run(followSystem)}>Follow the system's theme</Command.Item> : null}
          <Command.Item onSelect={run(actions.showHelp)}>Show keyboard shortcuts</Command.Item>
        </Command.Group>
        <Command.Group heading="Cards">
          {board.lanes.flatMap((lane) =>
            lane.cards.map((card) => (
              <Command.Item key={card.id} value={`${card.title} ${card.id}`} keywords={[lane.name]} onSelect={run(() => actions.openCard(card.id))}>
                {card.title}
                <span className="muted small"> · {lane.name}</span>
              </Command.Item>
            )),
          )}
        </Command.Group>
        <Command.Group heading="Go to">
          {pages.map(([name, path]) => (
            <Command.Item key={path} onSelect={run(() => navigate(path))}>
              {name}
            </Command.Item>
          ))}
        </Command.Group>
      </Command.List>
    </Command.Dialog>
  );
}
