"""The tools an agent calls in its loop: their JSON schemas (offered to the model), the validation of each
call's arguments, and what a call does. A read answers from core; a change is an effect, published with the
step's checkpoint and applied by core once, keyed by (run, step, call id)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import openai
from agentworks_events.cards import CHECKLIST_MAX, CardType
from agentworks_events.runs import TOOL_RESULT_MAX, RunEffect, ToolCallRecord, child_card_id_for
from agentworks_internal_api.core import ContextCardOut
from agentworks_platform.internal_http import InternalClient
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agentworks_orchestrator.runs.contract import ModelText, without_nul
from agentworks_orchestrator.runs.core_client import (
    CoreUnavailableError,
    card_document,
    card_documents,
    current_card,
)

if TYPE_CHECKING:
    from agentworks_orchestrator.code.workspace import CodeWorkspace

EFFECT_ADAPTER: TypeAdapter[RunEffect] = TypeAdapter(RunEffect)
DOCUMENT_NAME = r"^[a-z][a-z0-9_]{1,63}$"
TOOL_NAME = re.compile(DOCUMENT_NAME)


class ToolError(Exception):
    """A call the tool could not carry out; its message is fed back to the model, which may try again."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool acts on: the run, its card, and the clients it reads and generates through. ``step`` (set by
    the loop for each step) and ``call_id`` (set for each call) name what a call creates, as core will; ``count``
    adds what a tool's own provider call spent (an image: its input tokens and cost) to the run's usage, so the
    run is charged for every call the router recorded for it; ``code`` is the attempt's working copy and sandbox
    (a build, review or test role's)."""

    run_id: uuid.UUID
    workspace_id: uuid.UUID
    project_id: uuid.UUID
    card_id: uuid.UUID | None
    card: ContextCardOut | None
    documents: tuple[str, ...]
    core: InternalClient
    llm: openai.AsyncOpenAI
    image_model: str
    headers: dict[str, str] = field(default_factory=dict)
    step: int = 1
    call_id: str = ""
    count: Callable[[int, Decimal], None] = field(default=lambda _tokens, _cost: None)  # outside a run: uncounted
    code: CodeWorkspace | None = None


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The text fed back to the model and the effect the call asks for (None for a read)."""

    result: str
    effect: dict[str, Any] | None = None


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoArguments(_Arguments):
    pass


class DocumentNameIn(_Arguments):
    name: Annotated[str, Field(pattern=DOCUMENT_NAME, description="The document's kind, e.g. prd.")]


class DocumentIn(DocumentNameIn):
    title: Annotated[ModelText, Field(min_length=1, max_length=200)]
    content: Annotated[ModelText, Field(min_length=1, max_length=500_000, description="Markdown.")]


class ChildCardIn(_Arguments):
    title: Annotated[ModelText, Field(min_length=1, max_length=200)]
    description: Annotated[ModelText, Field(max_length=20_000)] = ""
    acceptance_criteria: Annotated[list[ModelText], Field(max_length=30)] = []
    card_type: CardType = "task"


ChecklistTextIn = Annotated[ModelText, Field(min_length=1, max_length=500)]


class CardUpdateIn(_Arguments):
    description: Annotated[ModelText, Field(max_length=20_000)]


class ChecklistItemsIn(_Arguments):
    items: Annotated[
        list[ChecklistTextIn],
        Field(min_length=1, max_length=CHECKLIST_MAX, description="The lines to add, each a step's text."),
    ]


class ChecklistCheckIn(_Arguments):
    text: Annotated[ChecklistTextIn, Field(description="The line's text, exactly as read_card shows it.")]
    done: bool = Field(default=True, description="False unticks the line.")


class CommentIn(_Arguments):
    body: Annotated[ModelText, Field(min_length=1, max_length=20_000, description="Markdown.")]
    card_id: uuid.UUID | None = Field(default=None, description="A child card's id; the run's card if left out.")


class MoveIn(_Arguments):
    reason: Annotated[ModelText, Field(min_length=1, max_length=2_000)]


class ImageIn(_Arguments):
    prompt: Annotated[ModelText, Field(min_length=1, max_length=4_000)]


Action = Callable[[ToolContext, Any], Awaitable[ToolOutcome]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    arguments: type[_Arguments]
    act: Action

    def spec(self, context_documents: tuple[str, ...]) -> dict[str, Any]:
        """The tool as the Chat Completions API offers it to the model."""
        schema = _plain_schema(self.arguments.model_json_schema())
        if self.name == "write_document" and context_documents:
            schema["properties"]["name"]["enum"] = list(context_documents)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


def _plain_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A Pydantic schema without titles (noise to a model) and with nested models inlined."""
    definitions = schema.pop("$defs", {})

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return plain(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: plain(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [plain(item) for item in node]
        return node

    result: dict[str, Any] = plain(schema)
    result.setdefault("properties", {})
    return result


async def _list_documents(context: ToolContext, _: NoArguments) -> ToolOutcome:
    documents = await card_documents(context.core, _card_of(context))
    if not documents:
        return ToolOutcome("The card has no documents yet.")
    lines = [f"- {d.name} (v{d.version}): {d.title}" for d in documents]
    return ToolOutcome("The card's documents (newest version of each):\n" + "\n".join(lines))


async def _read_document(context: ToolContext, arguments: DocumentNameIn) -> ToolOutcome:
    document = await card_document(context.core, _card_of(context), arguments.name)
    if document is None:
        raise ToolError(f"The card has no document named {arguments.name!r}; list_documents names the ones it has.")
    return ToolOutcome(f"# {document.title} ({document.name}, v{document.version})\n\n{document.content}")


async def _write_document(context: ToolContext, arguments: DocumentIn) -> ToolOutcome:
    _card_of(context)
    effect = {"kind": "document.write", "name": arguments.name, "title": arguments.title, "content": arguments.content}
    return ToolOutcome(f"Saved a new version of {arguments.name} ({len(arguments.content)} characters).", effect)


async def _read_card(context: ToolContext, _: NoArguments) -> ToolOutcome:
    _card_of(context)
    card = context.card
    if card is None:
        raise ToolError("This run's card no longer exists.")
    return ToolOutcome(card_text(card))


def card_text(card: ContextCardOut) -> str:
    """The card as ``read_card`` shows it: title, type, description, acceptance criteria and checklist."""
    parts = [f"Card {card.id} ({card.card_type}): {card.title}"]
    if card.parent_id is not None:
        parts.append(f"Child of the card {card.parent_id}.")
    parts.append(card.description or "(no description)")
    criteria = [f"- {criterion}" for criterion in card.acceptance_criteria]
    parts.append("\n".join(["Acceptance criteria:", *criteria]) if criteria else "Acceptance criteria: none yet.")
    items = [f"- [{'x' if item.done else ' '}] {item.text}" for item in card.checklist]
    parts.append("\n".join(["Checklist:", *items]) if items else "Checklist: empty.")
    return "\n\n".join(parts)


async def _create_child_card(context: ToolContext, arguments: ChildCardIn) -> ToolOutcome:
    _card_of(context)
    child = child_card_id_for(context.run_id, context.step, context.call_id)
    effect = {"kind": "card.create_child", **arguments.model_dump()}
    return ToolOutcome(
        f"Created the child card {child} in Ready (lane 4), where the team picks it up: {arguments.title}\n"
        "To comment on it, pass its id as card_id.",
        effect,
    )


async def _update_card(context: ToolContext, arguments: CardUpdateIn) -> ToolOutcome:
    _card_of(context)
    return ToolOutcome("Updated the card's description.", {"kind": "card.update", "description": arguments.description})


async def _add_checklist_items(context: ToolContext, arguments: ChecklistItemsIn) -> ToolOutcome:
    """Answers what the checklist holds now; core adds the lines to the checklist it holds when it applies them,
    so lines added meanwhile by a person or another agent stay."""
    lines = [item.text for item in (await _current_card(context)).checklist]
    new = [text for text in dict.fromkeys(arguments.items) if text not in lines]
    room = max(CHECKLIST_MAX - len(lines), 0)
    if not new:
        raise ToolError("The checklist already has each of these lines; nothing was added.")
    if room == 0:
        raise ToolError(f"The checklist is full ({CHECKLIST_MAX} lines); nothing was added.")
    said = [f"Added {len(new[:room])} line(s) to the checklist."]
    if len(new) < len(arguments.items):
        said.append(f"{len(arguments.items) - len(new)} it already had (or repeated) were skipped.")
    if new[room:]:
        said.append(f"{len(new) - room} did not fit: a checklist holds at most {CHECKLIST_MAX} lines.")
    return ToolOutcome(" ".join(said), {"kind": "card.checklist", "add": new[:room]})


async def _check_checklist_item(context: ToolContext, arguments: ChecklistCheckIn) -> ToolOutcome:
    """By text: a text no line of the checklist reads is an error the model can correct, no effect."""
    card = await _current_card(context)
    if all(item.text != arguments.text for item in card.checklist):
        lines = "\n".join(f"- {item.text}" for item in card.checklist) or "(empty)"
        raise ToolError(f"No checklist line reads {arguments.text!r}; use a line's exact text. The checklist:\n{lines}")
    change = "check" if arguments.done else "uncheck"
    effect = {"kind": "card.checklist", change: [arguments.text]}
    return ToolOutcome(f"{'Ticked' if arguments.done else 'Unticked'} {arguments.text!r}.", effect)


async def _current_card(context: ToolContext) -> ContextCardOut:
    card = await current_card(context.core, context.project_id, _card_of(context))
    if card is None:
        raise ToolError("This run's card no longer exists.")
    return card


async def _comment(context: ToolContext, arguments: CommentIn) -> ToolOutcome:
    card_id = arguments.card_id or _card_of(context)
    return ToolOutcome("Commented.", {"kind": "card.comment", "card_id": card_id, "body": arguments.body})


async def _request_move(context: ToolContext, arguments: MoveIn) -> ToolOutcome:
    _card_of(context)
    effect = {"kind": "card.request_move", "reason": arguments.reason}
    return ToolOutcome("Asked to move the card to the next lane; an approval gate there still applies.", effect)


async def _generate_image(context: ToolContext, arguments: ImageIn) -> ToolOutcome:
    _card_of(context)
    try:
        answer = await context.llm.images.generate(
            model=context.image_model, prompt=arguments.prompt, response_format="url", extra_headers=context.headers
        )
    except openai.APIStatusError as exc:
        raise ToolError(f"The image model refused ({exc.status_code}): {exc.message}") from None
    cost = (answer.model_extra or {}).get("agentworks", {}).get("cost", "0")
    context.count(answer.usage.input_tokens if answer.usage else 0, Decimal(cost))
    url = answer.data[0] if answer.data else None
    if url is None or not url.url:
        raise ToolError("The image model answered without an image.")
    name = url.url.rsplit("/", 1)[-1]
    effect = {"kind": "image.generated", "name": name, "prompt": arguments.prompt, "content_type": _image_type(name)}
    return ToolOutcome(f"Generated the image {name}; it is shown on the card.", effect)


def _image_type(name: str) -> str:
    return "image/" + name.rsplit(".", 1)[-1] if "." in name else "image/png"


def _card_of(context: ToolContext) -> uuid.UUID:
    if context.card_id is None:
        raise ToolError("This run has no card.")
    return context.card_id


DOCUMENT_TOOLS = (
    Tool(
        "list_documents",
        "List the card's documents (newest version of each, without content).",
        NoArguments,
        _list_documents,
    ),
    Tool("read_document", "Read the newest version of one of the card's documents.", DocumentNameIn, _read_document),
    Tool(
        "write_document",
        "Write a new version of one of the card's documents (Markdown). Each call is a whole new version.",
        DocumentIn,
        _write_document,
    ),
)
CARD_TOOLS = (
    Tool(
        "read_card",
        "Read the card this run works on: title, type, description, acceptance criteria and checklist.",
        NoArguments,
        _read_card,
    ),
    Tool("update_card", "Replace this card's description.", CardUpdateIn, _update_card),
    Tool(
        "add_checklist_items",
        "Add lines (unticked) to the end of this card's checklist; lines it already has are skipped. Lines others "
        "add meanwhile are kept.",
        ChecklistItemsIn,
        _add_checklist_items,
    ),
    Tool(
        "check_checklist_item",
        "Tick (or, with done false, untick) the line of this card's checklist that reads exactly this text.",
        ChecklistCheckIn,
        _check_checklist_item,
    ),
    Tool("comment", "Comment on this card (or on one of its children) in Markdown.", CommentIn, _comment),
    Tool("request_move", "Ask to move this card to the next lane once the work is done.", MoveIn, _request_move),
)
BREAKDOWN_TOOLS = (
    Tool(
        "create_child_card",
        "Create a child card of this card, with acceptance criteria, in Ready (lane 4); answers its id.",
        ChildCardIn,
        _create_child_card,
    ),
)
IMAGE_TOOLS = (
    Tool(
        "generate_image",
        "Generate an image (a UI concept, a mock-up) from a prompt; shown on the card.",
        ImageIn,
        _generate_image,
    ),
)


def calls_tools(model: str) -> bool:
    """Whether a model can call tools: an image model answers with images, so its role keeps the JSON contract."""
    return "image" not in model.lower()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model made: its id, the tool's name and the arguments as the model wrote them (JSON text)."""

    call_id: str
    name: str
    arguments: str

    def message(self) -> dict[str, Any]:
        return {"id": self.call_id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


async def perform(
    call: ToolCall, tools: tuple[Tool, ...], context: ToolContext
) -> tuple[ToolCallRecord, RunEffect | None]:
    """Validate one call against its tool's schema and carry it out; a failure is a record the model can act
    on (``ok`` false, the error fed back), never an exception."""
    started = time.perf_counter()
    arguments = _parsed(call.arguments)
    try:
        outcome, effect = await _carried_out(call, tools, context, arguments)
    except ToolError as exc:
        return _record(call, arguments, started, error=str(exc)), None
    return _record(call, arguments, started, result=outcome.result), effect


async def _carried_out(
    call: ToolCall, tools: tuple[Tool, ...], context: ToolContext, arguments: dict[str, Any] | None
) -> tuple[ToolOutcome, RunEffect | None]:
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        raise ToolError(f"There is no tool named {call.name!r}; the tools are: {', '.join(t.name for t in tools)}.")
    if arguments is None:
        raise ToolError("The arguments are not a JSON object; call the tool again with a JSON object.")
    if tool.name == "write_document" and context.documents and arguments.get("name") not in context.documents:
        raise ToolError(f"This role writes the documents {', '.join(context.documents)}; name one of them.")
    try:
        parsed = tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"Invalid arguments for {tool.name}: {problems}.") from None
    try:
        outcome = await tool.act(replace(context, call_id=call.call_id), parsed)
    except CoreUnavailableError:
        raise ToolError("The project's store is unavailable right now; try again in a moment.") from None
    effect = EFFECT_ADAPTER.validate_python({**outcome.effect, "call_id": call.call_id}) if outcome.effect else None
    return outcome, effect


def _parsed(arguments: str) -> dict[str, Any] | None:
    """The call's arguments as a JSON object, each NUL (raw or escaped) shown as U+FFFD as in all model output."""
    try:
        value = json.loads(without_nul(arguments or "{}").replace("\\u0000", "\\ufffd"))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _record(
    call: ToolCall, arguments: dict[str, Any] | None, started: float, result: str = "", error: str | None = None
) -> ToolCallRecord:
    fed_back = result if error is None else f"Error: {error}"
    return ToolCallRecord(
        call_id=call.call_id,
        tool=call.name if TOOL_NAME.match(call.name) else "unknown_tool",
        arguments=arguments or {},
        ok=error is None,
        result=fed_back[:TOOL_RESULT_MAX],
        error=error,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
