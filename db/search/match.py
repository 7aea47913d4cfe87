"""A parsed search as each backend's match expression: a tsquery for PostgreSQL's GIN index, an
FTS5 query for SQLite, and a relevance score where lower is better on both.

The match text is assembled inside the statement: literal pieces (bound parameters) around one
subquery per typo-correctable word, which reads the vocabulary for the words most like it. So a
search, its typo corrections included, is one statement, and statements are built once per shape
(how many correctable words, where), whatever the words.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)

from db.search.text import Item, SearchQuery

SIMILARITY = 0.3  # pg_trgm's default threshold for `%`
CORRECTIONS = 5  # vocabulary words tried for each correctable word, most similar first
# A correction is a misspelling, not a word that shares a long stem: "phone" for "xylophone"
# scores 0.33 on trigrams alone.
LENGTH_SLACK = 2
# FTS5's bm25 weights, in column order (name, categories, description, skus): the order of
# PostgreSQL's A, B, C weights, so a name match outranks a description match on both.
BM25_WEIGHTS = (10.0, 4.0, 1.0, 4.0)

product_search_pg = table("product_search", column("product_id"), column("document"))
search_words = table("search_words", column("word"))
product_search_fts = table("product_search", column("rowid"))
product_search_words = table("product_search_words", column("term"))

Piece = str | int  # literal text, or the index of a correctable word whose corrections go here


@dataclass(frozen=True, slots=True)
class Syntax:
    token: Callable[[str, bool], str]
    phrase: str
    and_: str
    or_: str
    and_not: str


POSTGRESQL = Syntax(
    token=lambda word, prefix: f"'{word}'" + (":*" if prefix else ""),
    phrase=" <-> ",
    and_=" & ",
    or_=" | ",
    and_not=" & !",
)
SQLITE = Syntax(
    token=lambda word, prefix: f'"{word}"' + ("*" if prefix else ""),
    phrase=" + ",
    and_=" AND ",
    or_=" OR ",
    and_not=" NOT ",
)


def _phrase(syntax: Syntax, item: Item) -> str:
    return syntax.phrase.join(syntax.token(word, item.prefix) for word in item.tokens)


def pieces(query: SearchQuery, dialect: str) -> list[Piece]:
    """The match text, with a slot after each correctable word for its corrections."""
    syntax = POSTGRESQL if dialect == "postgresql" else SQLITE
    corrected = query.corrected()
    out: list[Piece] = []
    for i, clause in enumerate(query.clauses):
        out.append(syntax.and_ if i else "")
        out.append("(")
        for j, item in enumerate(clause):
            out.append((syntax.or_ if j else "") + "(" + _phrase(syntax, item))
            if item in corrected:
                out.append(corrected.index(item))
            out.append(")")
        out.append(")")
    for item in query.excluded:
        out.append(f"{syntax.and_not}({_phrase(syntax, item)})")
    merged: list[Piece] = []
    for piece in out:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def shape(query: SearchQuery, dialect: str) -> tuple[Any, ...]:
    """What decides the statement: where the correction slots sit among the literal pieces."""
    return tuple(p if isinstance(p, int) else None for p in pieces(query, dialect))


def parameters(query: SearchQuery, dialect: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    literal_index = 0
    for piece in pieces(query, dialect):
        if isinstance(piece, str):
            values[f"search_{literal_index}"] = piece
            literal_index += 1
    for index, item in enumerate(query.corrected()):
        values[f"typo_{index}"] = item.tokens[0]
    return values


def _close_in_length(word: Any, typed: Any) -> ColumnElement[bool]:
    return func.length(word).between(
        func.length(typed) - LENGTH_SLACK, func.length(typed) + LENGTH_SLACK
    )


def _corrections_pg(index: int) -> ColumnElement[Any]:
    typed: Any = bindparam(f"typo_{index}", type_=search_words.c.word.type)
    word = search_words.c.word
    closest = (
        select(word)
        .where(word.op("%")(typed), func.similarity(word, typed) >= SIMILARITY)
        .where(~word.startswith(typed, autoescape=False), _close_in_length(word, typed))
        .order_by(func.similarity(word, typed).desc(), word)
        .limit(CORRECTIONS)
        .subquery("closest")
    )
    quoted = literal(" | '") + closest.c.word + literal("'")
    return func.coalesce(select(func.string_agg(quoted, literal(""))).scalar_subquery(), "")


def _corrections_sqlite(index: int) -> ColumnElement[Any]:
    typed: Any = bindparam(f"typo_{index}", type_=product_search_words.c.term.type)
    term = product_search_words.c.term
    score = func.search_similarity(term, typed)
    closest = (
        select(term)
        # SKUs put thousands of numbers in FTS5's vocabulary: a range fts5vocab seeks (digits
        # sort before letters), C filters, then Python's.
        .where(term >= literal("a"), _close_in_length(term, typed), ~term.op("GLOB")("*[0-9]*"))
        .where(score >= SIMILARITY, ~term.startswith(typed, autoescape=False))
        .order_by(score.desc(), term)
        .limit(CORRECTIONS)
        .subquery("closest")
    )
    quoted = literal(' OR "') + closest.c.term + literal('"')
    return func.coalesce(select(func.group_concat(quoted, literal(""))).scalar_subquery(), "")


def match_text(slots: tuple[Any, ...], dialect: str) -> ColumnElement[Any]:
    """The statement's expression for the match text of a search of this shape."""
    corrections = _corrections_pg if dialect == "postgresql" else _corrections_sqlite
    parts: list[ColumnElement[Any]] = []
    literal_index = 0
    for slot in slots:
        if slot is None:
            parts.append(bindparam(f"search_{literal_index}", type_=search_words.c.word.type))
            literal_index += 1
        else:
            parts.append(corrections(slot))
    text = parts[0]
    for part in parts[1:]:
        text = text.op("||")(part)
    return text


@dataclass(frozen=True, slots=True)
class Matching:
    """What a select over products joins, the condition that matches, and the score."""

    source: FromClause
    condition: ColumnElement[bool]
    score: ColumnElement[Any]


def matching(slots: tuple[Any, ...], dialect: str, products: Any) -> Matching:
    text = match_text(slots, dialect)
    if dialect == "postgresql":
        tsquery: ColumnElement[Any] = func.to_tsquery(literal_column("'simple'::regconfig"), text)
        if any(slot is not None for slot in slots):
            # Corrections read the vocabulary: once per statement, as a scalar subquery. The
            # planner cannot see its value, so it guesses the match's selectivity; without one,
            # the bound text is a constant to it and its GIN statistics decide.
            tsquery = select(tsquery).scalar_subquery()
        document = product_search_pg.c.document
        return Matching(
            source=products.join(
                product_search_pg, product_search_pg.c.product_id == products.c.id
            ),
            condition=document.op("@@")(tsquery),
            score=-func.ts_rank(document, tsquery),
        )
    fts: ColumnElement[Any] = literal_column("product_search")
    return Matching(
        source=products.join(product_search_fts, product_search_fts.c.rowid == products.c.id),
        condition=fts.op("MATCH")(text),
        score=func.bm25(fts, *BM25_WEIGHTS),
    )
