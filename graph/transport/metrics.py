"""GET /metrics: this process's registry in Prometheus's text format (or OpenMetrics, if asked)."""

from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

from graph.state import GatewayState


async def metrics(request: Request) -> Response:
    state: GatewayState = request.app.state.gateway
    await state.telemetry.backlog.refresh()
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(state.telemetry.registry), headers={"Content-Type": content_type})
