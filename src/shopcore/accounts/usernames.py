"""Usernames: the form stored, the key that identifies an account, and the skeleton that refuses look-alikes.

- Stored: NFKC-normalised and stripped, so `ａｄｍｉｎ` (fullwidth) is stored as `admin`.
- Key (`username_key`): the stored form case-folded in Python (NFKC again after folding, Unicode's
  NFKC_Casefold). Logins, rate-limit counts and uniqueness use it. It is computed here rather than by
  the database's `lower()`, because SQLite's `lower()` folds ASCII letters only: `Ä` and `ä` would be
  two users there and one on PostgreSQL.
- Skeleton (`username_skeleton`): the key with every character replaced by a representative of its
  class in Unicode's confusables data (UTS #39, as shipped by `confusable_homoglyphs`), so `аdmin`
  with a Cyrillic `а`, `ΑDMIN` with a Greek `Α` and `admin` share one (as do `user1` and `userl`).
  A new username whose skeleton an existing user already has is refused.
"""
from __future__ import annotations

import functools
import unicodedata


def canonical_username(username: str) -> str:
    """The form a username is stored in."""
    return unicodedata.normalize("NFKC", username).strip()


def username_key(username: str) -> str:
    """What identifies an account: case and compatibility forms folded, surrounding spaces ignored."""
    return unicodedata.normalize("NFKC", canonical_username(username).casefold())


@functools.cache
def _representatives() -> dict[str, str]:
    """Each confusable character's class representative.

    `confusable_homoglyphs` holds confusables.txt as an undirected graph (each source character and its
    prototype point at each other). Every connected part is one class; its representative is the member
    with the most look-alikes (the prototype), ties broken by the smallest string, so the choice does
    not depend on the order of the data.
    """
    from confusable_homoglyphs.confusables import confusables_data

    graph: dict[str, set[str]] = {}
    for char, entries in confusables_data.items():
        for entry in entries:
            graph.setdefault(char, set()).add(entry["c"])
            graph.setdefault(entry["c"], set()).add(char)
    representative: dict[str, str] = {}
    for start in graph:
        if start in representative:
            continue
        members, stack = {start}, [start]
        while stack:
            for neighbour in graph[stack.pop()]:
                if neighbour not in members:
                    members.add(neighbour)
                    stack.append(neighbour)
        chosen = min(members, key=lambda member: (-len(graph[member]), member))
        for member in members:
            representative[member] = chosen
    return {char: chosen for char, chosen in representative.items() if len(char) == 1 and char != chosen}


def _skeleton(text: str) -> str:
    table = _representatives()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(char, char) for char in decomposed))


def username_skeleton(username: str) -> str:
    """Equal for usernames a reader could take for one another, whatever their case.

    Taken from the case-folded key, so `ΑDMIN` (Greek capital alpha) folds to `αdmin` and maps to the
    skeleton of `admin`. What folding hides is not caught: a capital `I` folds to `i` before it could
    be mapped to its look-alike `l`.
    """
    return _skeleton(username_key(username))
