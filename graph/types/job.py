"""Jobs: long work started by a mutation, polled with job(id)."""

from datetime import datetime
from enum import Enum
from typing import Self, cast

import strawberry
from strawberry.scalars import JSON

from db.pagination import Keyset, Page
from db.rows import JobRow
from graph import connections, cursors, ids
from graph.types.demand import COUNT
from graph.types.enums import described_enum
from graph.types.node import Node
from graph.types.page_info import PageInfo
from graph.types.user_error import UserError

JOB_SORT_NAME = "JOB"


@described_enum(
    description="Where a job is: QUEUED, RUNNING, then SUCCEEDED or FAILED.",
    values={
        "QUEUED": "Waiting for a worker.",
        "RUNNING": "A worker is on it; `progress` says how far it is.",
        "SUCCEEDED": "Done; `result` holds what it produced.",
        "FAILED": "It gave up; `error` says why.",
    },
)
class JobStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="Work that runs in the background; poll it with `job(id:)`.")
class Job(Node):
    kind: str = strawberry.field(
        description="What the job does, such as products_bulk_price_update."
    )
    status: JobStatus = strawberry.field(description="QUEUED, RUNNING, SUCCEEDED or FAILED.")
    progress: float = strawberry.field(description="From 0 to 1.")
    result: JSON | None = strawberry.field(description="What the job produced, once SUCCEEDED.")
    error: str | None = strawberry.field(
        description="Why it FAILED, or the last error it is retrying after."
    )
    attempts: int = strawberry.field(description="How many times a worker has started it.")
    created_by: str = strawberry.field(description="Who started it.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    started_at: datetime | None = strawberry.field(description="When a worker first started it.")
    finished_at: datetime | None = strawberry.field(description="When it SUCCEEDED or FAILED.")

    @classmethod
    def from_row(cls, row: JobRow) -> Self:
        return cls(
            id=strawberry.ID(ids.encode("Job", row.id)),
            kind=row.kind,
            status=JobStatus(row.status),
            progress=row.progress,
            result=cast(JSON, row.result),
            error=row.error,
            attempts=row.attempts,
            created_by=row.created_by,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


@strawberry.type(description="The result of a mutation that starts a job.")
class JobPayload:
    job: Job | None = strawberry.field(description="The queued job; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


@strawberry.type(description="A job in a list, with its position.")
class JobEdge:
    node: Job = strawberry.field(description="The job.")
    keyset: strawberry.Private[Keyset]

    @strawberry.field(description="Pass to `after` to read the jobs that follow.")
    def cursor(self) -> str:
        return cursors.encode(JOB_SORT_NAME, self.keyset)


@strawberry.type(description="A page of jobs, oldest first.")
class JobConnection:
    edges: list[JobEdge] = strawberry.field(description="The jobs on this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")
    total_count: int = strawberry.field(description="How many jobs match.", directives=[COUNT])

    @classmethod
    def from_page(cls, page: Page[JobRow]) -> Self:
        return cls(
            edges=[
                JobEdge(node=Job.from_row(row), keyset=keyset)
                for row, keyset in zip(page.rows, page.keysets, strict=True)
            ],
            page_info=connections.page_info(page, JOB_SORT_NAME),
            total_count=page.total,
        )
