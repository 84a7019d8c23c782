"""argon2id password hashing at the configured cost (OWASP's outside tests), off the event loop."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True, slots=True)
class HashCost:
    """argon2id's work factors: passes over the memory, and the memory in KiB."""

    time_cost: int
    memory_kib: int


# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1; the least production accepts.
OWASP = HashCost(time_cost=2, memory_kib=19 * 1024)


@functools.cache
def _hasher(cost: HashCost) -> tuple[PasswordHasher, str]:
    """The hasher at ``cost`` and the hash unknown accounts are checked against (to spend the same time on them)."""
    hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=1)
    return hasher, hasher.hash("a password nobody has, to spend the same time on unknown accounts")


async def hash_password(password: str, cost: HashCost) -> str:
    hasher, _ = _hasher(cost)
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str, cost: HashCost) -> bool:
    """Constant work whether or not the account exists (a stored hash is checked at the cost it was made with)."""
    hasher, dummy = _hasher(cost)
    try:
        return await asyncio.to_thread(hasher.verify, stored_hash or dummy, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
