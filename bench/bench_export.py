"""export_csv: /users/export.csv of a 100,000-user tenant (``--size small``: 5,000), the table's one-tenant
world from bench_table (superuser, the default columns).

Measured in-process with django.test.Client, consuming the StreamingHttpResponse chunk by chunk as a
server would: a timed pass (no tracing), then a traced pass for the tracemalloc peak (tracemalloc slows
allocation, so it never runs during the timing).
"""

from __future__ import annotations

import time
import tracemalloc

from .bench_table import SINGLE_FULL, SINGLE_SMALL, single_tenant, superuser_client
from .harness import BenchContext, benchmark, emit
from .util import log, rounded


def consume(client, tenant_id: str) -> tuple[int, int]:
    """(bytes, lines) of the whole export, never holding more than one chunk."""
    response = client.get("/users/export.csv", {"tenant": tenant_id})
    if response.status_code != 200 or not response.streaming:
        raise RuntimeError(f"export answered {response.status_code} (streaming={response.streaming})")
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return size, lines


@benchmark("export_csv")
def export_csv(context: BenchContext) -> None:
    from django.test.utils import override_settings

    users = SINGLE_FULL if context.full else SINGLE_SMALL
    tenant = single_tenant(users)
    client = superuser_client()
    extra = {"rows": users, "size": context.size}
    with override_settings(DEBUG=False):
        log(f"CSV export of {users:,} users: timed pass")
        started, cpu_started = time.perf_counter(), time.process_time()
        size, lines = consume(client, str(tenant.tenant_id))
        seconds = time.perf_counter() - started
        # This process's CPU only (the database server is another process): the per-row cost of building
        # and formatting rows, which the wall time mixes with the database's.
        cpu_per_row = (time.process_time() - cpu_started) * 1000 / users
        if lines < users + 1:
            raise RuntimeError(f"the export had {lines} lines for {users} users")
        emit("export_csv", "wall_time", rounded(seconds, 2), "s", bytes=size, lines=lines, **extra)
        emit("export_csv", "cpu_per_row", round(cpu_per_row, 3), "ms", **extra)
        log("traced pass")
        tracemalloc.start()
        consume(client, str(tenant.tenant_id))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        emit("export_csv", "tracemalloc_peak", rounded(peak / 2**20), "MB", **extra)
