"""catalogExport and productReport: jobs that read the catalog and hand back a file or a report."""

from db import exports, reports
from graph import connections, ids
from graph.context import Context
from graph.mutations.base import perform
from graph.types.inputs import ProductFilter
from graph.types.job import Job, JobPayload
from graph.viewer import Role, Viewer

# Exports are for admins, so a status filter may ask for drafts and archived products too.
STAFF = Viewer(role=Role.ADMIN, subject="catalog-export")


async def catalog_export(context: Context, given: ProductFilter | None) -> JobPayload:
    flt = connections.product_filter(STAFF, given)
    row, errors = await perform(context, lambda tx: exports.start_catalog_export(tx, flt))
    return JobPayload(job=None if row is None else Job.from_row(row), user_errors=errors)


async def product_report(context: Context, product_id: str) -> JobPayload:
    key = ids.decode_as(product_id, "Product")
    row, errors = await perform(context, lambda tx: reports.start_product_report(tx, key))
    return JobPayload(job=None if row is None else Job.from_row(row), user_errors=errors)
