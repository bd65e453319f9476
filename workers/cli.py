"""The ``wirewatch`` command line."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from topics import catalog

from .settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="wirewatch",
    help="Watch news wires for conflict events: validate, deduplicate, enrich, alert.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kafka_app = typer.Typer(help="The project's local Apache Kafka broker (no Docker).", no_args_is_help=True)
topics_app = typer.Typer(help="Topics of the catalog.", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(topics_app, name="topics")

err = Console(stderr=True)

BootstrapOpt = Annotated[
    str | None, typer.Option("--bootstrap", "-b", help="Kafka bootstrap servers (default: settings).")
]


def _settings(bootstrap: str | None = None, **overrides: Any) -> Settings:
    if bootstrap:
        overrides["bootstrap_servers"] = bootstrap
    return Settings(**overrides)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


# --------------------------------------------------------------------------- enrich
@app.command()
def enrich(
    inputs: Annotated[list[Path], typer.Argument(help=".jsonl, .txt or a directory of them.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
) -> None:
    """Run the whole pipeline in one process (no broker); one JSON line per output message."""
    from .inputs import InputError, count_records, read_records
    from .pipeline import Pipeline

    try:
        total = count_records(inputs)
    except InputError as exc:
        raise _fail(str(exc)) from exc
    pipeline = Pipeline(_settings())
    sink = output.open("wb") if output else sys.stdout.buffer
    counts: dict[str, int] = {}
    try:
        for message in pipeline.run(read_records(inputs)):
            sink.write(orjson.dumps(message.to_value()) + b"\n")
            counts[message.topic] = counts.get(message.topic, 0) + 1
        sink.flush()
    finally:
        if output:
            sink.close()
    summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "nothing"
    err.print(f"{total} input records -> {summary}")


# --------------------------------------------------------------------------- eval
@app.command("eval")
def evaluate(
    dataset: Annotated[Path, typer.Argument(help="Directory with articles.jsonl and labels.jsonl.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON here.")] = None,
    max_errors: Annotated[int, typer.Option(help="Errors listed per kind.")] = 50,
    raw_entities: Annotated[
        bool, typer.Option("--raw-entities", help="Score the spaCy model's own entities (baseline).")
    ] = False,
) -> None:
    """Score the pipeline on a labelled set (same code path as enrich)."""
    from .evaluation import DatasetError, load_dataset, render_report, score
    from .pipeline import Pipeline, RawRecord

    try:
        data = load_dataset(dataset)
    except DatasetError as exc:
        raise _fail(str(exc)) from exc
    pipeline = Pipeline(_settings(), raw_entities=raw_entities)
    outputs = [m.to_value() for m in pipeline.run(RawRecord(line) for line in data.raw_lines)]
    report = score(data, outputs)
    render_report(report, Console(), max_errors=max_errors)
    if json_out:
        json_out.write_bytes(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2))


# --------------------------------------------------------------------------- worker
@app.command()
def worker(
    bootstrap: BootstrapOpt = None,
    web_port: Annotated[int | None, typer.Option(help="Port of the worker's web server.")] = None,
    web_host: Annotated[str | None, typer.Option(help="Address the web server binds (default: settings).")] = None,
    no_web: Annotated[bool, typer.Option("--no-web", help="Run without the web server.")] = False,
    loglevel: Annotated[str | None, typer.Option(help="Log level (default: settings).")] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log JSON lines (default: settings).")] = False,
) -> None:
    """Run a Faust worker; start several for more throughput. Serves /health, /ready, /metrics."""
    import faust

    from .app import create_app
    from .logs import logging_config

    overrides: dict[str, Any] = {}
    if web_port is not None:
        overrides["web_port"] = web_port
    if web_host is not None:
        overrides["web_host"] = web_host
    if no_web:
        overrides["web_enabled"] = False
    if loglevel is not None:
        overrides["log_level"] = loglevel
    if log_json:
        overrides["log_json"] = True
    settings = _settings(bootstrap, **overrides)
    if settings.create_topics:
        import logging.config

        from .admin import provision_at_start

        logging.config.dictConfig(logging_config(settings.log_level, settings.log_json))
        outcomes = provision_at_start(settings)
        if outcomes:
            from .admin import batch_size_within

            batch, why = batch_size_within(settings.producer_max_batch_size, outcomes)
            if why:
                logging.getLogger("wirewatch.admin").warning("%s", why)
                settings = settings.model_copy(update={"producer_max_batch_size": batch})
    ww = create_app(settings)
    faust.Worker(
        ww.app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level, settings.log_json),
    ).execute_from_commandline()


# --------------------------------------------------------------------------- produce
@app.command()
def produce(
    inputs: Annotated[list[Path], typer.Argument(help=".jsonl, .txt or a directory of them.")],
    bootstrap: BootstrapOpt = None,
    topic: Annotated[str, typer.Option(help="Destination topic.")] = catalog.RAW.name,
) -> None:
    """Publish article files to the raw topic, with a progress bar."""
    from .inputs import InputError, count_records
    from .produce import produce_files

    try:
        total = count_records(inputs)
    except InputError as exc:
        raise _fail(str(exc)) from exc
    sent = asyncio.run(produce_files(_settings(bootstrap), inputs, topic, total, err))
    err.print(f"sent {sent} records to {topic}")


# --------------------------------------------------------------------------- tail
@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="Topic to follow.")] = catalog.ALERTS.name,
    bootstrap: BootstrapOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each value as one JSON line.")] = False,
    from_beginning: Annotated[bool, typer.Option("--from-beginning", help="Start at the oldest record.")] = False,
    max_messages: Annotated[int | None, typer.Option("--max", help="Stop after this many records.")] = None,
    idle_timeout: Annotated[float | None, typer.Option("--timeout", help="Stop after this many idle seconds.")] = None,
    color: Annotated[
        bool | None, typer.Option("--color/--no-color", help="Colours (default: when stdout is a terminal).")
    ] = None,
    width: Annotated[int | None, typer.Option(help="Cut lines to this width (default: the terminal's).")] = None,
) -> None:
    """Follow an output topic: readable one-line records (time, type, hedged, places, actors, sentence), or --json."""
    from .tail import tail_topic

    console = _console(color)
    asyncio.run(
        tail_topic(_settings(bootstrap), topic, as_json, from_beginning, max_messages, idle_timeout, console, width)
    )


def _console(color: bool | None) -> Console:
    """A stdout console: colours when a terminal (Rich also honours NO_COLOR), forced on or off by ``color``."""
    if color is None:
        return Console()
    if color:
        return Console(force_terminal=True)
    return Console(color_system=None)


# --------------------------------------------------------------------------- status
@app.command()
def status(
    url: Annotated[
        list[str] | None, typer.Option("--url", "-u", help="A worker's web address; repeat for several.")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between the two scrapes for rates (0: no rates).")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Lag, rates and counts of running workers, from their /metrics and /ready. Exit 1 if one is down or not ready."""
    from .status import collect_status, render_status, status_value

    workers = collect_status(url or [f"http://127.0.0.1:{_settings().web_port}"], interval)
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(status_value(workers), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        render_status(workers, Console())
    if not all(w.reachable and (w.ready or {}).get("ready") for w in workers):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- topics
@topics_app.command("create")
def topics_create(bootstrap: BootstrapOpt = None) -> None:
    """Create every topic of the catalog (idempotent)."""
    from .admin import create_topics

    for outcome in asyncio.run(create_topics(_settings(bootstrap))):
        state = "created" if outcome.created else "exists "
        note = f"  [yellow]({outcome.note})[/]" if outcome.note else ""
        Console().print(f"{state} {outcome.name}  partitions={outcome.partitions}{note}")


@topics_app.command("list")
def topics_list() -> None:
    """Print the topic catalog."""
    console = Console()
    settings = _settings()
    sizes = settings.message_sizes()
    for spec in catalog.catalog_for(settings.app_id):
        limit = spec.max_message_bytes(sizes)
        console.print(
            f"{spec.name:<36} partitions={spec.partitions}  cleanup={spec.cleanup_policy:<8}"
            f" retention_ms={spec.retention_ms}  max_message_bytes={limit or 'default'}  {spec.description}"
        )


# --------------------------------------------------------------------------- kafka
def _local_kafka(port: int | None) -> Any:
    from .localkafka import LocalKafkaConfig

    s = _settings()
    return LocalKafkaConfig(
        port=port or s.local_kafka_port,
        controller_port=s.local_kafka_controller_port if port is None else port + 1,
        state_dir=s.local_kafka_dir,
    )


PortOpt = Annotated[int | None, typer.Option(help="Broker port (default 9092; controller = port + 1).")]


@kafka_app.command("start")
def kafka_start(port: PortOpt = None) -> None:
    """Fetch the broker jars (first time), format storage and start a KRaft broker on 127.0.0.1."""
    from .localkafka import LocalKafkaError, start

    try:
        status = start(_local_kafka(port), progress=lambda m: err.print(f"[dim]{m}[/]"))
    except LocalKafkaError as exc:
        raise _fail(str(exc), 1) from exc
    Console().print(f"kafka running: pid {status.pid}, bootstrap {status.bootstrap}, log {status.log_path}")


@kafka_app.command("stop")
def kafka_stop(port: PortOpt = None) -> None:
    """Stop the broker that `wirewatch kafka start` started (and nothing else)."""
    from .localkafka import LocalKafkaError, stop

    try:
        stopped = stop(_local_kafka(port))
    except LocalKafkaError as exc:
        raise _fail(str(exc), 1) from exc
    Console().print("kafka stopped" if stopped else "kafka was not running")


@kafka_app.command("status")
def kafka_status(port: PortOpt = None) -> None:
    """Is the local broker running and answering? Exit 1 when not."""
    from .localkafka import status

    st = status(_local_kafka(port))
    Console().print(
        f"running={st.running} answering={st.answering} pid={st.pid} bootstrap={st.bootstrap} log={st.log_path}"
    )
    if not (st.running and st.answering):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- demo
@app.command()
def demo(
    inputs: Annotated[list[Path] | None, typer.Argument(help="Articles to feed (default: seeds/).")] = None,
    keep_running: Annotated[bool, typer.Option(help="Leave broker and worker running afterwards.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the results.")] = 180.0,
) -> None:
    """Start the local broker and a worker, feed the sample articles, show what comes out."""
    from .demo import run_demo

    code = run_demo(_settings(), inputs or [Path("seeds")], keep_running, timeout, Console(), err)
    raise typer.Exit(code)


def main() -> None:
    app()
