"""GET /exports/{name}: a finished catalog export, streamed to admins from the export directory.

Only names that catalogExport writes are served, and only files directly inside the directory:
`..`, separators, hidden temporary files and symlinks leading out all answer 404.
"""

import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from graph.auth import viewer_from_header
from graph.errors import Unauthenticated
from graph.state import GatewayState
from graph.viewer import Role

NAME = re.compile(r"catalog-[0-9]{1,19}-[A-Za-z0-9_-]{16,64}\.csv")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="exports"'}
PRIVATE = {"Cache-Control": "private, no-store"}


def export_path(directory: Path, name: str) -> Path | None:
    """The file `name` names, if it is an export inside `directory`."""
    if not NAME.fullmatch(name):
        return None
    root = directory.resolve()
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        return None
    return path


def _refusal(state: GatewayState, authorization: str | None) -> Response | None:
    try:
        viewer = viewer_from_header(state.settings, authorization)
    except Unauthenticated as error:
        return PlainTextResponse(str(error), 401, headers=CHALLENGE)
    if viewer.role is Role.ANONYMOUS:
        return PlainTextResponse("Sign in: send an admin's bearer token.", 401, headers=CHALLENGE)
    if viewer.role is not Role.ADMIN:
        return PlainTextResponse("Exports are for admins.", 403)
    return None


async def download_export(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    refused = _refusal(state, request.headers.get("authorization"))
    if refused is not None:
        return refused
    name = request.path_params["name"]
    path = export_path(state.settings.export_dir, name)
    if path is None:
        return PlainTextResponse("No such export.", 404)
    return FileResponse(path, media_type="text/csv", filename=name, headers=PRIVATE)
