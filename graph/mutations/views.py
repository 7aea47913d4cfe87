"""productViewTrack: each view goes straight to the workers, which count views in Redis (or
memory) and write them in one statement per few seconds; no database write per view."""

from graph import ids
from graph.context import Context
from graph.types.user_error import UserError, UserErrorCode
from graph.types.views import ViewTrackPayload
from workers.tasks.views import TRACK_VIEW


async def track(context: Context, product_id: str) -> ViewTrackPayload:
    key = ids.decode_as(product_id, "Product")
    row = await context.loaders.product_by_id.load(key)
    if row is None or not context.viewer.can_see(row):
        missing = UserError(
            field=["productId"], message="No product has this id.", code=UserErrorCode.NOT_FOUND
        )
        return ViewTrackPayload(recorded=False, user_errors=[missing])
    recorded = await context.send_task(TRACK_VIEW, {"product_id": key})
    return ViewTrackPayload(recorded=recorded, user_errors=[])
