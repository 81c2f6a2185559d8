"""Build the FastAPI application around one :class:`Services`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from whmcs_monitor import __version__
from whmcs_monitor.alerting.routes import router as alerting_router
from whmcs_monitor.checks.routes import router as checks_router
from whmcs_monitor.config import Settings
from whmcs_monitor.demo.simulator import run_simulator
from whmcs_monitor.ingest.routes import router as ingest_router
from whmcs_monitor.services import Services
from whmcs_monitor.store.writer import EventWriter
from whmcs_monitor.web.dashboard import install_dashboard
from whmcs_monitor.web.errors import install_error_handlers
from whmcs_monitor.web.ops import router as ops_router
from whmcs_monitor.workers import background_workers

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, demo: bool = False, serve_forever: bool = False) -> FastAPI:
    """The whole service. With ``demo``, the traffic simulator posts to this server once it is up.

    ``serve_forever`` (``whmcs-monitor run``) says this process lives as long as the app: once
    started, everything imported and built so far is moved out of the garbage collector's sight
    (``gc.freeze``). Otherwise each full collection walks those ~150,000 objects again (over
    100 ms, several times a minute under ingest load). Tests, which start many apps in one
    process, leave it off: an app frozen there could never be collected.
    """

    if demo:  # ingest accepts the demo site only while the simulator runs (bootstrap.settle_demo)
        settings.demo.enabled = "on"

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await asyncio.to_thread(Services.open, settings)
        writer = EventWriter(services.db, on_commit=services.on_events_committed)
        writer.start()
        app.state.services = services
        app.state.writer = writer
        workers = background_workers(services) if settings.server.run_workers else []
        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(start(), name=name) for name, start in workers
        ]
        if demo:
            tasks.append(asyncio.create_task(run_simulator(settings), name="demo"))
        if serve_forever:
            gc.collect()  # only what is alive is frozen
            gc.freeze()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await writer.stop()
            services.db.dispose()

    app = FastAPI(
        title="whmcs-monitor",
        version=__version__,
        description="Monitoring and alerting for WHMCS installations.",
        lifespan=lifespan,
        docs_url=None,  # the dashboard's /api page documents the API within its CSP
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(ingest_router)
    app.include_router(checks_router)
    app.include_router(alerting_router)
    install_dashboard(app)
    return app
