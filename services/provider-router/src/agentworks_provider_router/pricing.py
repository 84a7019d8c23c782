"""The price table from ``contracts/pricing.yaml``: exact Decimal prices with effective dates."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PATH = Path(__file__).resolve().parents[4] / "contracts" / "pricing.yaml"


class PricingError(ValueError):
    """The price table is missing or invalid."""


MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Tokens:
    """Tokens of one call. ``input`` counts every prompt token, cached and cache-written ones included;
    ``output`` counts every generated token, reasoning (thinking) included."""

    input: int = 0
    output: int = 0
    cached_input: int = 0
    cache_write: int = 0
    reasoning: int = 0


class ModelPrice(BaseModel):
    """One model's prices from a date on; a column left out is charged at the plain input or output price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    model: str = Field(min_length=1, max_length=100)
    effective_from: date
    input_per_million: Decimal = Field(ge=0)
    output_per_million: Decimal = Field(ge=0)
    cached_input_per_million: Decimal | None = Field(default=None, ge=0)
    cache_write_per_million: Decimal | None = Field(default=None, ge=0)
    reasoning_per_million: Decimal | None = Field(default=None, ge=0)
    per_image: Decimal = Field(default=Decimal(0), ge=0)
    kind: Literal["chat", "image", "embedding"] = "chat"

    def cost(self, tokens: Tokens, images: int = 0) -> Decimal:
        cached = self.cached_input_per_million
        write = self.cache_write_per_million
        reasoning = self.reasoning_per_million
        uncached_input = max(0, tokens.input - tokens.cached_input - tokens.cache_write)
        answer = max(0, tokens.output - tokens.reasoning)
        per_million = (
            self.input_per_million * uncached_input
            + (self.input_per_million if cached is None else cached) * tokens.cached_input
            + (self.input_per_million if write is None else write) * tokens.cache_write
            + self.output_per_million * answer
            + (self.output_per_million if reasoning is None else reasoning) * tokens.reasoning
        )
        return per_million / MILLION + self.per_image * images


class PriceTable(BaseModel):
    """Every priced model; ``current(model, on)`` is the entry in force on a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "USD"
    models: tuple[ModelPrice, ...]

    @cached_property
    def model_ids(self) -> list[tuple[str, str]]:
        """(provider, model) pairs, each once, in file order."""
        seen: dict[tuple[str, str], None] = {}
        for entry in self.models:
            seen.setdefault((entry.provider, entry.model), None)
        return list(seen)

    @cached_property
    def _by_model(self) -> dict[str, tuple[ModelPrice, ...]]:
        """Each model's entries, newest in force first: every call looks its model up several times."""
        entries: dict[str, list[ModelPrice]] = {}
        for entry in self.models:
            entries.setdefault(entry.model, []).append(entry)
        return {
            model: tuple(sorted(found, key=lambda m: m.effective_from, reverse=True))
            for model, found in entries.items()
        }

    def is_image_model(self, model: str) -> bool:
        return any(m.per_image > 0 for m in self._by_model.get(model, ())) or model.endswith("-image")

    def is_embedding_model(self, model: str) -> bool:
        return any(m.kind == "embedding" for m in self._by_model.get(model, ()))

    def priced_models(self, on: date) -> list[tuple[str, str]]:
        """(provider, model) pairs with a price in force on ``on``: the models that may be called that day."""
        return [(provider, model) for provider, model in self.model_ids if self.current(model, on) is not None]

    def current(self, model: str, on: date) -> ModelPrice | None:
        return next((m for m in self._by_model.get(model, ()) if m.effective_from <= on), None)


def load_prices(path: Path | str | None = None) -> PriceTable:
    file = Path(path or os.environ.get("AW_PRICING_FILE") or DEFAULT_PATH)
    try:
        return PriceTable.model_validate(yaml.safe_load(file.read_text()))
    except OSError as exc:
        raise PricingError(f"cannot read {file}: {exc.strerror}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise PricingError(f"{file}: invalid price table: {exc}") from None
