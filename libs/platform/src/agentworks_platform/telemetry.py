"""OpenTelemetry: a tracer provider per service, exporting to Cloud Trace, OTLP, the console or nowhere."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_configured: TracerProvider | None = None


def _exporter(kind: str, gcp_project: str) -> SpanExporter | None:
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if kind == "gcp":
        from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

        exporter: SpanExporter = CloudTraceSpanExporter(project_id=gcp_project)
        return exporter
    return None


def configure_tracing(
    service: str, exporter: str, gcp_project: str, extra_processor: SpanProcessor | None = None
) -> TracerProvider:
    """Install the global tracer provider once per process; later calls only add processors."""
    global _configured  # noqa: PLW0603 - the OTel provider is process-global by design
    if _configured is None:
        _configured = TracerProvider(resource=Resource.create({"service.name": service}))
        span_exporter = _exporter(exporter, gcp_project)
        if span_exporter is not None:
            _configured.add_span_processor(BatchSpanProcessor(span_exporter))
        trace.set_tracer_provider(_configured)
    if extra_processor is not None:
        _configured.add_span_processor(extra_processor)
    return _configured


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, for Pub/Sub attributes."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
