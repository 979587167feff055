"""Text search over the published catalogue: Chinese names and aliases, English names, codes.

An in-memory character-bigram index, built once per warm container from the published items (the
catalogue of a city is ~1.2k items, a few MB: loading it is a handful of Queries, and a search is
then a set intersection — no Scan, no per-request reads). Chinese has no spaces, so words are not
the unit: any two adjacent characters are. Candidates are confirmed by substring, so a bigram hit
never returns an item that does not contain the query.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from .catalogue import ServiceItem

MAX_QUERY = 50


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, no whitespace or punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def _grams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text} if text else set()


class CatalogueIndex:
    def __init__(self, items: Iterable[ServiceItem]) -> None:
        self.items = sorted(items, key=lambda i: i.code)
        self._texts: list[tuple[str, ...]] = []  # per item: name_zh, aliases…, name_en, code
        self._grams: dict[str, set[int]] = defaultdict(set)
        self._chars: dict[str, set[int]] = defaultdict(set)
        for n, item in enumerate(self.items):
            texts = tuple(normalize(t) for t in (item.name_zh, *item.aliases, item.name_en, item.code))
            self._texts.append(texts)
            for t in texts:
                for g in _grams(t):
                    self._grams[g].add(n)
                for ch in t:
                    self._chars[ch].add(n)

    def _matches(self, term: str) -> dict[int, int]:
        """Item position → rank (0: in the Chinese name, 1: in an alias, 2: elsewhere)."""
        postings = [self._chars.get(term, set())] if len(term) == 1 else [
            self._grams.get(g, set()) for g in _grams(term)]
        candidates = set.intersection(*postings) if postings else set()
        out: dict[int, int] = {}
        for n in candidates:
            texts = self._texts[n]
            for rank, t in enumerate(texts):
                if term in t:
                    out[n] = 0 if rank == 0 else 1 if rank <= len(texts) - 3 else 2
                    break
        return out

    def search(self, q: str | None = None, department: str | None = None,
               channel: str | None = None) -> list[ServiceItem]:
        terms = [t for t in (normalize(w) for w in (q or "")[:MAX_QUERY].split()) if t]
        ranks: dict[int, int] | None = None
        for term in terms:
            found = self._matches(term)
            ranks = found if ranks is None else {n: max(r, found[n]) for n, r in ranks.items() if n in found}
        positions = sorted(ranks, key=lambda n: (ranks[n], self.items[n].code)) if ranks is not None \
            else range(len(self.items))
        out = []
        for n in positions:
            item = self.items[n]
            if department and department not in item.departments:
                continue
            if channel and channel not in item.channels:
                continue
            out.append(item)
        return out
