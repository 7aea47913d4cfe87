"""catalogExport: the filtered catalog as CSV under the export directory.

Rows go to a temporary file that is renamed over the target once complete, so a redelivered
job rewrites the same file whole and a download never sees half of one. The file's name holds
the job's random token: knowing a job id is not enough to fetch its export.
"""

import asyncio
import csv
import errno
import os
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from db import exports, jobs
from db.exports import ExportLine
from db.queries.products import ProductFilter
from db.rows import JobRow
from db.writes.unit import write_transaction
from workers.errors import PermanentError
from workers.jobs import ACTOR
from workers.runtime import Runtime

HEADER = (
    "product_id",
    "product_slug",
    "product_name",
    "status",
    "category_slug",
    "sku",
    "variant_name",
    "price",
    "compare_at_price",
    "currency",
    "quantity",
)
URL_PREFIX = "/exports/"
PROGRESS_EVERY_SECONDS = 1.0
# A directory we may not write to will not become writable by retrying; a full disk might.
NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def file_name(job: JobRow) -> str:
    return f"catalog-{job.id}-{job.args['token']}.csv"


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _money(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _cells(line: ExportLine) -> list[Any]:
    return [
        line.product_id,
        line.product_slug,
        _text(line.product_name),
        line.status.value,
        line.category_slug,
        _text(line.sku),
        _text(line.variant_name),
        _money(line.price),
        _money(line.compare_at_price),
        line.currency,
        "" if line.quantity is None else line.quantity,
    ]


class CsvFile:
    """A CSV written beside its target and renamed onto it; blocking, so called in a thread."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.part.open("w", newline="", encoding="utf-8")
        except OSError as error:
            if error.errno in NOT_WRITABLE:
                raise PermanentError(
                    f"The export directory {target.parent} is not writable: {error}"
                ) from error
            raise
        self.writer = csv.writer(self.file)
        self.writer.writerow(HEADER)

    def write(self, lines: list[ExportLine]) -> None:
        self.writer.writerows(_cells(line) for line in lines)

    def commit(self) -> int:
        """Make the file durable, then put it in place; returns its size in bytes."""
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.part, self.target)
        return self.target.stat().st_size

    def discard(self) -> None:
        self.file.close()
        self.part.unlink(missing_ok=True)


async def catalog_export(runtime: Runtime, job: JobRow) -> dict[str, Any]:
    flt = exports.filter_from_args(job.args)
    async with runtime.sessions() as session:
        total = await exports.count_products(session=session, flt=flt)
    name = file_name(job)
    output = await asyncio.to_thread(CsvFile, runtime.settings.export_dir / name)
    try:
        rows = await _write_batches(runtime, job, flt, output, total)
        size = await asyncio.to_thread(output.commit)
    except BaseException:
        await asyncio.to_thread(output.discard)
        raise
    return {"url": URL_PREFIX + name, "rows": rows, "bytes": size}


async def _write_batches(
    runtime: Runtime, job: JobRow, flt: ProductFilter, output: CsvFile, total: int
) -> int:
    """Keyset batches of products; progress is committed at most once a second."""
    after, products, rows = 0, 0, 0
    reported = time.monotonic()
    limit = runtime.settings.bulk_batch_size
    while True:
        async with runtime.sessions() as session:
            batch = await exports.export_batch(
                session=session, flt=flt, after_id=after, limit=limit
            )
        if not batch:
            return rows
        await asyncio.to_thread(output.write, batch)
        after, rows = batch[-1].product_id, rows + len(batch)
        products += len({line.product_id for line in batch})
        if time.monotonic() - reported >= PROGRESS_EVERY_SECONDS:
            reported = time.monotonic()
            async with write_transaction(runtime.sessions, ACTOR) as tx:
                await jobs.progress(tx, job, products / total if total else 1.0, None)
