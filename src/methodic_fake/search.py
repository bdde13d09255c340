"""A small full-text index with BM25 ranking and snippets.

Documents are ready `research_report` assets (their text content) and `arxiv`
assets (metadata title and abstract). Titles count double so a query matching a
title outranks one matching only the body, as users expect from a search box.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it"}
    | {"of", "on", "or", "that", "the", "this", "to", "was", "were", "with"}
)
K1 = 1.2
B = 0.75
SNIPPET_CHARS = 160


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords; plural `s` folded so `runs` finds `run`."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in _STOPWORDS:
            continue
        if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
            tok = tok[:-1]
        out.append(tok)
    return out


@dataclass
class Document:
    doc_type: str  # "research_report" | "arxiv"
    doc_id: str
    asset_id: str
    experiment_id: str | None
    title: str
    body: str
    terms: Counter[str] = field(default_factory=Counter)
    length: int = 0


class SearchIndex:
    """Inverted index: term -> {asset_id: term frequency}."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self._postings: dict[str, dict[str, int]] = {}
        self._total_len = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._docs)

    def clear(self) -> None:
        with self._lock:
            self._docs.clear()
            self._postings.clear()
            self._total_len = 0

    def add(self, doc: Document) -> None:
        """Index (or re-index) one document."""
        tokens = tokenize(doc.title) * 2 + tokenize(doc.body)
        doc.terms = Counter(tokens)
        doc.length = len(tokens)
        with self._lock:
            self._remove(doc.asset_id)
            self._docs[doc.asset_id] = doc
            self._total_len += doc.length
            for term, tf in doc.terms.items():
                self._postings.setdefault(term, {})[doc.asset_id] = tf

    def _remove(self, asset_id: str) -> None:
        old = self._docs.pop(asset_id, None)
        if old is None:
            return
        self._total_len -= old.length
        for term in old.terms:
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(asset_id, None)
                if not posting:
                    del self._postings[term]

    def search(self, query: str, types: set[str] | None, limit: int) -> dict[str, Any]:
        """The `SearchResponse` wire object for `query`."""
        terms = list(dict.fromkeys(tokenize(query)))
        with self._lock:
            n = len(self._docs)
            avg = self._total_len / n if n else 0.0
            scores: dict[str, float] = {}
            for term in terms:
                posting = self._postings.get(term, {})
                if not posting:
                    continue
                idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
                for asset_id, tf in posting.items():
                    doc = self._docs[asset_id]
                    if types is not None and doc.doc_type not in types:
                        continue
                    norm = K1 * (1 - B + B * doc.length / avg) if avg else K1
                    scores[asset_id] = scores.get(asset_id, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
            ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
            results = [
                self._result(self._docs[asset_id], score, terms)
                for asset_id, score in ranked[:limit]
            ]
        return {"query": query, "total": len(ranked), "results": results}

    @staticmethod
    def _result(doc: Document, score: float, terms: list[str]) -> dict[str, Any]:
        return {
            "type": doc.doc_type,
            "id": doc.doc_id,
            "title": doc.title,
            "snippet": snippet(doc.body or doc.title, terms),
            "score": round(score, 6),
            "asset_id": doc.asset_id,
            "experiment_id": doc.experiment_id,
        }


def snippet(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `text` around the first matching term, with ellipses."""
    flat = " ".join(text.split())
    hit = None
    for match in _TOKEN.finditer(flat):
        if tokenize(match.group())[:1] and tokenize(match.group())[0] in terms:
            hit = match.start()
            break
    if hit is None or len(flat) <= width:
        start = 0
    else:
        start = max(0, hit - width // 3)
        # Do not start mid-word.
        space = flat.rfind(" ", 0, start)
        start = space + 1 if space != -1 and start - space < 20 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return ("…" if start > 0 else "") + flat[start:end] + ("…" if end < len(flat) else "")
