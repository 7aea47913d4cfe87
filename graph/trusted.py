"""Reading trusted documents from files: plain `.graphql` documents, or a manifest from
graphql-codegen's client preset or Relay (`{"<id>": "<text>"}`) or Apollo's persisted query
manifest (`{"format": "apollo-persisted-query-manifest", "operations": [...]}`)."""

from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLSchema, parse, validate
from graphql.error import GraphQLError

from db.documents import TrustedDocument, sha256


class ManifestError(Exception):
    pass


def _from_manifest(path: Path, manifest: Any) -> list[TrustedDocument]:
    if isinstance(manifest, dict) and manifest.get("format") == "apollo-persisted-query-manifest":
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(f"{path}: `operations` must be a list")
        pairs = [(op.get("id"), op.get("body")) for op in operations if isinstance(op, dict)]
    elif isinstance(manifest, dict):
        pairs = list(manifest.items())
    else:
        raise ManifestError(f"{path}: a manifest is a JSON object of id -> document")
    documents = []
    for key, body in pairs:
        if not isinstance(key, str) or not isinstance(body, str) or not 0 < len(key) <= 200:
            raise ManifestError(f"{path}: each entry needs a string id (1-200) and a document")
        documents.append(TrustedDocument(key, body))
    return documents


def read_documents(paths: list[Path]) -> list[TrustedDocument]:
    documents: list[TrustedDocument] = []
    for path in paths:
        try:
            text = path.read_text()
        except OSError as error:
            raise ManifestError(f"{path}: {error.strerror or error}") from None
        if path.suffix == ".json":
            try:
                documents += _from_manifest(path, orjson.loads(text))
            except orjson.JSONDecodeError as error:
                raise ManifestError(f"{path}: not JSON ({error})") from None
        else:
            documents.append(TrustedDocument(sha256(text), text))
    return documents


def invalid(schema: GraphQLSchema, document: TrustedDocument) -> str | None:
    """Why the schema would refuse the document, or None."""
    try:
        errors = validate(schema, parse(document.body))
    except GraphQLError as error:
        return error.message
    return errors[0].message if errors else None
