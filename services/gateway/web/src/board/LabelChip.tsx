// A card's label as the board and the drawer show it: its name beside a dot of its colour.

import type { Label } from "../api/types";

/** A label as the board colours it. */
export function LabelChip({ label }: { label: Pick<Label, "name" | "color"> }) {
  return (
    <span className="label-chip" style={{ borderColor: label.color }} data-testid="card-label">
      <span className="label-dot" style={{ background: label.color }} aria-hidden="true" />
      {label.name}
    </span>
  );
}
