"""A shopper's search text, read with web-search semantics on every backend.

Words must all match (each as a prefix of a word, for search-as-you-type); `"quoted words"` match
as a phrase of whole words; `a or b` matches either; `-word` excludes. Words are the runs of
letters and digits, lower-cased, exactly as the index folds text, so no character of the input
is ever syntax to the database: operators and quotes of FTS5 or tsquery cannot leak through.
"""

import re
from dataclasses import dataclass

PIECE = re.compile(r'(?P<neg>-)?(?:"(?P<quoted>[^"]*)"?|(?P<word>[^\s"]+))')
TOKEN = re.compile(r"[^\W_]+")
# Enough for any shopper; bounds the statement's size (each typo correction is a subquery).
MAX_ITEMS = 16
MAX_CORRECTED = 4
# Shorter words get no typo tolerance: one edit of a 3-letter word is another word.
CORRECTABLE_LENGTH = 4


@dataclass(frozen=True, slots=True)
class Item:
    """Words that match in a row: a phrase; unquoted, each word matches as a prefix."""

    tokens: tuple[str, ...]
    quoted: bool = False

    @property
    def prefix(self) -> bool:
        return not self.quoted


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Every clause holds (any one of its items), and no excluded item does."""

    clauses: tuple[tuple[Item, ...], ...]
    excluded: tuple[Item, ...] = ()

    def corrected(self) -> tuple[Item, ...]:
        """The items whose word a similar word of the vocabulary may stand in for."""
        found: list[Item] = []
        for clause in self.clauses:
            for item in clause:
                if correctable(item) and item not in found and len(found) < MAX_CORRECTED:
                    found.append(item)
        return tuple(found)


def correctable(item: Item) -> bool:
    if item.quoted or len(item.tokens) != 1:
        return False
    word = item.tokens[0]
    return len(word) >= CORRECTABLE_LENGTH and word.isalpha()


def parse(text: str) -> SearchQuery | None:
    """None when nothing in `text` asks for a match (blank, punctuation, only exclusions)."""
    clauses: list[list[Item]] = []
    excluded: list[Item] = []
    joining = False
    count = 0
    for piece in PIECE.finditer(text):
        word, quoted, negated = piece["word"], piece["quoted"], piece["neg"] is not None
        if word is not None and word.lower() == "or" and not negated:
            joining = bool(clauses)
            continue
        tokens = tuple(TOKEN.findall((quoted if quoted is not None else word).lower()))
        if not tokens or count >= MAX_ITEMS:
            continue
        count += 1
        item = Item(tokens, quoted is not None)
        if negated:
            excluded.append(item)
        elif joining:
            clauses[-1].append(item)
        else:
            clauses.append([item])
        joining = False
    if not clauses:
        return None
    return SearchQuery(tuple(tuple(c) for c in clauses), tuple(excluded))


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two blanks in front and one behind."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(left: str, right: str) -> float:
    """pg_trgm's `similarity` for single words, so both backends correct typos alike."""
    a, b = trigrams(left.lower()), trigrams(right.lower())
    common = len(a & b)
    union = len(a) + len(b) - common
    return common / union if union else 0.0


def vocabulary_similarity(word: str, typed: str) -> float:
    """`similarity`, for words the vocabulary keeps (PostgreSQL keeps letters-only words of
    three or more): SQLite's vocabulary holds every token, so the rest score nothing."""
    if len(word) < 3 or not word.isalpha():
        return 0.0
    return similarity(word, typed)
