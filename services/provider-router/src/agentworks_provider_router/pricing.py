"""The price table from ``contracts/pricing.yaml``: exact Decimal prices with effective dates."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_PATH = Path(__file__).resolve().parents[4] / "contracts" / "pricing.yaml"


class PricingError(ValueError):
    """The price table is missing or invalid."""


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    model: str = Field(min_length=1, max_length=100)
    effective_from: date
    input_per_million: Decimal = Field(ge=0)
    output_per_million: Decimal = Field(ge=0)
    per_image: Decimal = Field(default=Decimal(0), ge=0)


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

    def is_image_model(self, model: str) -> bool:
        return any(m.model == model and m.per_image > 0 for m in self.models) or model.endswith("-image")

    def current(self, model: str, on: date) -> ModelPrice | None:
        candidates = [m for m in self.models if m.model == model and m.effective_from <= on]
        return max(candidates, key=lambda m: m.effective_from, default=None)


def load_prices(path: Path | str | None = None) -> PriceTable:
    file = Path(path or os.environ.get("AW_PRICING_FILE") or DEFAULT_PATH)
    try:
        return PriceTable.model_validate(yaml.safe_load(file.read_text()))
    except OSError as exc:
        raise PricingError(f"cannot read {file}: {exc.strerror}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise PricingError(f"{file}: invalid price table: {exc}") from None
