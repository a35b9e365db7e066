"""Tracing (OpenTelemetry): on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, absent otherwise.

Off, nothing of it is installed — no tracer provider, no HTTP middleware, no wrapped
driver methods; what remains are `active()` checks in the job queue, the job wrapper and
the webhook sender. On, each process (`marketplace-api`, `marketplace-worker`) exports by
OTLP/HTTP to `<endpoint>/v1/traces`:

- HTTP: a SERVER span per request, named by route template (`POST /v1/orders`), carrying
  the request id (`request_id`), so a partner's quoted `X-Request-ID` finds its trace;
  the probes, `/metrics` and static files are not traced;
- SQL: a CLIENT span per statement, through asyncpg's instrumentation — both the ORM
  engine (SQLAlchemy's asyncpg dialect runs prepared statements on asyncpg connections)
  and the catalogue's `ReadPool` (asyncpg without SQLAlchemy), which SQLAlchemy's own
  instrumentation would not see;
- Redis: a CLIENT span per command or pipeline (redis-py, which arq uses);
- jobs: a PRODUCER span where a job is enqueued, whose W3C context (`traceparent`,
  `tracestate`) travels with the job (`marketplace.jobs`), and a CONSUMER span around the
  job in the worker, its child: one trace from a request through every job it set off;
- webhooks: a CLIENT span per delivery attempt, its `traceparent` sent to the partner.

Spans with no parent of ours are kept only when they start something: a request, a
job, an enqueue. A lone SQL statement or Redis command (the worker polling its queue, a
cron's queries, the rate limiter) starts no trace of its own — it would be noise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from marketplace.request_ids import current_request_id
from marketplace.settings import Settings

if TYPE_CHECKING:
    # The SDK is imported when tracing starts: a process that never traces never loads it.
    from litestar.middleware.base import DefineMiddleware
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.sampling import Sampler

API_SERVICE = "marketplace-api"
WORKER_SERVICE = "marketplace-worker"
# The span attribute holding the request id (the same name as in the log lines).
REQUEST_ID = "request_id"
# Never traced: probes and scrapes (every few seconds, forever), static files.
UNTRACED_PATHS = [r"^/(livez|readyz|healthz|metrics)$", r"^/static/", r"^/schema/assets/"]


class _Tracing:
    def __init__(self, provider: TracerProvider, instrumentors: list[Any]) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("marketplace")
        self.instrumentors = instrumentors


_active: _Tracing | None = None


def active() -> bool:
    return _active is not None


def provider() -> TracerProvider | None:
    """This process's tracer provider, None while tracing is off."""
    return _active.provider if _active is not None else None


def _roots_that_start_something() -> Sampler:
    """A span with no parent is kept unless it is a lone client call (SQL, Redis)."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler

    class RootsThatStartSomething(Sampler):
        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> Any:
            decide = ALWAYS_OFF if kind is SpanKind.CLIENT else ALWAYS_ON
            return decide.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return "RootsThatStartSomething"

    return RootsThatStartSomething()


def start_tracing(
    service_name: str,
    *,
    endpoint: str | None = None,
    environment: str = "development",
    processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Trace this process, exporting to the OTLP endpoint (or to `processor`: tests).

    Once per process: a later call (the worker restarting its loop after an outage, a
    test that set up its own exporter first) keeps the tracing already started.
    """
    global _active
    if _active is not None:
        return _active.provider
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased

    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if endpoint is None:
            raise ValueError("tracing needs an OTLP endpoint or a span processor")
        processor = BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        )
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": service_name, "deployment.environment.name": environment}
        ),
        sampler=ParentBased(root=_roots_that_start_something()),
    )
    provider.add_span_processor(processor)
    # Bound to this provider rather than the global one, which can be set only once per
    # process (a test stops tracing and the next one starts afresh).
    asyncpg = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    instrumentors: list[Any] = [asyncpg, RedisInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)
    _active = _Tracing(provider, instrumentors)
    return provider


def start_from_settings(settings: Settings, service_name: str) -> bool:
    """Trace this process if the settings name an OTLP endpoint; whether they do."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None:
        return False
    start_tracing(service_name, endpoint=endpoint, environment=settings.environment)
    return True


def stop_tracing() -> None:
    """Flush what is pending and take every instrumentation out again."""
    global _active
    if _active is None:
        return
    tracing, _active = _active, None
    for instrumentor in tracing.instrumentors:
        instrumentor.uninstrument()
    tracing.provider.shutdown()


# --- HTTP ---------------------------------------------------------------------------------


def http_middleware() -> DefineMiddleware:
    """The HTTP server spans, for `Litestar(middleware=[...])` (Litestar puts it outermost,
    around routing, through its OpenTelemetry plugin)."""
    from litestar.plugins.opentelemetry import (
        OpenTelemetryConfig,
        OpenTelemetryInstrumentationMiddleware,
    )

    assert _active is not None, "start_tracing first"

    class RouteNamedSpans(OpenTelemetryInstrumentationMiddleware):
        """Names the span by route template once routing found one: the span starts
        before routing, as the method alone (never the raw path, one name per id)."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def send_naming_span(message: Any) -> None:
                if message["type"] == "http.response.start":
                    _name_by_route(scope)
                await send(message)

            await self.open_telemetry_middleware(scope, receive, send_naming_span)

    config = OpenTelemetryConfig(
        tracer_provider=_active.provider,
        scope_span_details_extractor=_method_only,
        server_request_hook_handler=_tag_request_id,
        exclude=UNTRACED_PATHS,
        exclude_spans=["receive", "send"],
        middleware_class=RouteNamedSpans,
    )
    return config.middleware


def _method_only(scope: Any) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method") or "HTTP"), {}


def _tag_request_id(span: trace.Span, scope: Any) -> None:
    request_id = current_request_id()
    if request_id is not None:
        span.set_attribute(REQUEST_ID, request_id)


def _name_by_route(scope: Any) -> None:
    span = trace.get_current_span()
    template = scope.get("path_template")
    if template and span.is_recording():
        span.update_name(f"{scope.get('method', 'HTTP')} {template}")
        span.set_attribute("http.route", template)


# --- jobs ---------------------------------------------------------------------------------


@contextlib.contextmanager
def enqueueing(job: str, job_id: str | None) -> Iterator[dict[str, str]]:
    """Within: a PRODUCER span; yields the W3C context (`traceparent`, `tracestate`) the
    job carries to the worker. Call only while `active()`."""
    assert _active is not None
    attributes: dict[str, str] = {"messaging.system": "arq", "messaging.operation.type": "send"}
    if job_id is not None:
        attributes["messaging.message.id"] = job_id
    with _active.tracer.start_as_current_span(
        f"send {job}", kind=SpanKind.PRODUCER, attributes=attributes
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier


@contextlib.contextmanager
def processing(
    job: str, carrier: object, ctx: Mapping[str, Any], request_id: str | None
) -> Iterator[None]:
    """Within: the job's CONSUMER span, the child of the span that enqueued it (a root when
    it came with no context: a cron's job, one enqueued before tracing was on). Call only
    while `active()`."""
    assert _active is not None
    parent = None
    if isinstance(carrier, dict):
        parent = propagate.extract({str(k): str(v) for k, v in carrier.items()})
    attributes: dict[str, str | int] = {
        "messaging.system": "arq",
        "messaging.operation.type": "process",
    }
    if isinstance(job_id := ctx.get("job_id"), str):
        attributes["messaging.message.id"] = job_id
    if isinstance(job_try := ctx.get("job_try"), int):
        attributes["arq.job_try"] = job_try
    if request_id is not None:
        attributes[REQUEST_ID] = request_id
    with _active.tracer.start_as_current_span(
        f"process {job}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


# --- outgoing calls (webhooks) ------------------------------------------------------------


class OutgoingCall:
    """What an outgoing request adds (`headers`) and reports (`answered`) to its span."""

    def __init__(self, span: trace.Span | None) -> None:
        self.span = span
        self.headers: dict[str, str] = {}
        if span is not None:
            propagate.inject(self.headers)

    def answered(self, status_code: int | None, error: str | None) -> None:
        if self.span is None:
            return
        if status_code is not None:
            self.span.set_attribute("http.response.status_code", status_code)
        if error is not None:
            self.span.set_status(Status(StatusCode.ERROR, error[:200]))


@contextlib.contextmanager
def outgoing_post(target: str, **attributes: str | int) -> Iterator[OutgoingCall]:
    """Within: a CLIENT span for one POST to the URL `target`; the call's `headers` carry
    its context to the receiver. The URL is recorded without its query or user info (a
    partner may put a token there). Off, nothing is made or sent."""
    if _active is None:
        yield OutgoingCall(None)
        return
    import httpx

    url = httpx.URL(target)
    full = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "") + url.path
    with _active.tracer.start_as_current_span(
        "POST",
        kind=SpanKind.CLIENT,
        attributes={
            "http.request.method": "POST",
            "url.full": full,
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            **attributes,
        },
    ) as span:
        yield OutgoingCall(span)
