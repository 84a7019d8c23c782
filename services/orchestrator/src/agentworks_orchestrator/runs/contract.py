"""What each agent must deliver, how that is asked of the model, and how its answer is read back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated

from agentworks_events import ChildCardArtifact, DocumentArtifact, RunArtifacts
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

FENCE = re.compile(r"```json\s*(\{.*\})\s*```", re.S)
REPLACEMENT_CHARACTER = "\ufffd"


def without_nul(text: str) -> str:
    """Model output with each NUL (which no database text column of PostgreSQL can hold) shown as U+FFFD."""
    return text.replace("\x00", REPLACEMENT_CHARACTER) if "\x00" in text else text


ModelText = Annotated[str, AfterValidator(without_nul)]


@dataclass(frozen=True, slots=True)
class Contract:
    documents: tuple[str, ...]
    child_cards: int = 0

    def instruction(self) -> str:
        spec = {"documents": list(self.documents), "child_cards": self.child_cards}
        return (
            f"AGENTWORKS_OUTPUT_CONTRACT: {json.dumps(spec)}\n"
            "Think out loud as you work, then end your answer with one fenced ```json block holding "
            '{"summary": str, "documents": [{"kind": str, "title": str, "content": str (markdown)}], '
            f'"child_cards": [{{"title": str, "description": str}}]}} with exactly these document kinds: '
            f"{', '.join(self.documents) or 'none'}, and {self.child_cards} child cards."
        )


CONTRACTS: dict[str, Contract] = {
    "ceo_copilot": Contract(("vision",)),
    "strategy": Contract(("blueprint", "mvp")),
    "prd": Contract(("prd",)),
    "designer": Contract(("design_brief",)),
    "architect": Contract(("infra_design",), child_cards=3),
    "dev_backend": Contract(("backend_notes",)),
    "dev_frontend": Contract(("frontend_notes",)),
    "reviewer": Contract(("code_review",)),
    "qa": Contract(("test_plan",)),
    "troubleshooter": Contract(("troubleshooting_report",)),
}


class _Document(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    title: ModelText = Field(min_length=1, max_length=200)
    content: ModelText = Field(max_length=500_000)


class _Card(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: ModelText = Field(min_length=1, max_length=200)
    description: ModelText = Field(default="", max_length=20_000)


class _Output(BaseModel):
    model_config = ConfigDict(extra="ignore")
    summary: ModelText = Field(default="", max_length=5_000)
    documents: list[_Document] = Field(default_factory=list, max_length=20)
    child_cards: list[_Card] = Field(default_factory=list, max_length=50)


class MalformedOutputError(ValueError):
    """The model's answer does not carry a valid artifact block for its contract."""


def read_artifacts(text: str, contract: Contract) -> RunArtifacts:
    matches = FENCE.findall(text)
    if not matches:
        raise MalformedOutputError("the answer has no fenced ```json block")
    try:
        output = _Output.model_validate_json(matches[-1])
    except ValidationError as exc:
        raise MalformedOutputError(f"the json block is not valid: {exc.errors()[0]['msg']}") from None
    missing = set(contract.documents) - {d.kind for d in output.documents}
    if missing:
        raise MalformedOutputError(f"missing documents: {', '.join(sorted(missing))}")
    return RunArtifacts(
        documents=tuple(DocumentArtifact(kind=d.kind, title=d.title, content=d.content) for d in output.documents),
        child_cards=tuple(ChildCardArtifact(title=c.title, description=c.description) for c in output.child_cards),
        summary=output.summary,
    )
