"""What the producer's batch size costs the broker and the client per record, on the real local broker.

The enrich stage publishes a batch's events together (``workers/app.py``,
``publish``): 16 enriched events of ~6.4 KB (the median on the benchmark's
texts; ~2 KB for a unique article), then waits until the broker has them. A
producer batch holds records of one partition up to ``max_batch_size`` bytes,
and a produce request carries at most one batch per partition; Faust's default,
16 KiB, holds two such events, so one publish took several produce requests.

This benchmark produces bursts of 16 records of each size (keyed, so spread
over the topic's 4 partitions; acks=all and idempotence as the worker's
producer, linger 20 ms as ``WIREWATCH_PRODUCER_LINGER``), waits for each burst
as ``publish`` does, and reports the CPU milliseconds per record of the broker
and of this client for each batch size, in rounds that alternate the sizes (the
host's speed drifts), with the ratio to 16 KiB measured in the same run.

    .venv/bin/python benchmarks/produce_batch_bench.py [--records 3200] [--rounds 3]

Progress goes to stderr; the JSON summary to stdout and to
``benchmarks/results/produce_batch.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaProducer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BASELINE = 16384  # Faust's producer_max_batch_size
BURST = 16  # records published together (the enrich stage's batch)


def progress(message: str) -> None:
    print(f"[produce_batch_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def one_pass(
    bootstrap: str, topic: str, batch_size: int, value: bytes, records: int, broker: psutil.Process
) -> dict[str, float]:
    """Produce ``records`` in bursts; CPU ms per record of the broker and of this process."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=batch_size,
        max_request_size=8 << 20,
    )
    await producer.start()
    me = psutil.Process()
    broker0, client0, wall0 = sum(broker.cpu_times()[:2]), sum(me.cpu_times()[:2]), time.perf_counter()
    try:
        for burst in range(records // BURST):
            futures = [await producer.send(topic, value, key=f"{burst}-{i}".encode("ascii")) for i in range(BURST)]
            await asyncio.gather(*futures)
    finally:
        broker1, client1, wall = sum(broker.cpu_times()[:2]), sum(me.cpu_times()[:2]), time.perf_counter() - wall0
        await producer.stop()
    n = records // BURST * BURST
    return {
        "broker_ms_per_record": round(1000 * (broker1 - broker0) / n, 4),
        "client_ms_per_record": round(1000 * (client1 - client0) / n, 4),
        "records_per_s": round(n / wall, 1),
    }


async def measure(
    bootstrap: str, broker: psutil.Process, sizes: list[int], batch_sizes: list[int], records: int, rounds: int
) -> dict[str, Any]:
    topics = [f"produce-batch-{i}" for i in range(rounds * len(sizes) * len(batch_sizes))]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 4, 1) for t in topics])
    finally:
        await admin.close()
    await asyncio.sleep(2.0)  # leaders elected
    fresh = iter(topics)
    runs: dict[int, dict[int, list[dict[str, float]]]] = {s: {b: [] for b in batch_sizes} for s in sizes}
    for r in range(rounds):
        order = batch_sizes if r % 2 == 0 else list(reversed(batch_sizes))
        for size in sizes:
            value = os.urandom(size // 2).hex().encode("ascii")  # no compression is used: content is irrelevant
            for batch_size in order:
                result = await one_pass(bootstrap, next(fresh), batch_size, value, records, broker)
                runs[size][batch_size].append(result)
                progress(f"round {r + 1}/{rounds}, {size} B records, batch {batch_size}: {result}")
    out: dict[str, Any] = {}
    for size in sizes:
        per: dict[str, Any] = {}
        for batch_size in batch_sizes:
            each = runs[size][batch_size]
            per[str(batch_size)] = {key: round(statistics.median(e[key] for e in each), 4) for key in each[0]} | {
                "rounds": each
            }
        base = per[str(BASELINE)]
        for batch_size in batch_sizes:
            row = per[str(batch_size)]
            row["cpu_ms_per_record"] = round(row["broker_ms_per_record"] + row["client_ms_per_record"], 4)
            row["cpu_over_16k"] = round(
                row["cpu_ms_per_record"] / (base["broker_ms_per_record"] + base["client_ms_per_record"]), 3
            )
        out[f"{size}_bytes"] = per
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3200, help="records per pass")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="2000,6400", help="record sizes in bytes (unique article, enriched event)")
    parser.add_argument("--batch-sizes", default="16384,65536,262144", help="producer max_batch_size values")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if BASELINE not in batch_sizes:
        batch_sizes.insert(0, BASELINE)

    from tests.integration.harness import free_ports
    from workers.localkafka import LocalKafkaConfig, kafka_version, start, stop

    with tempfile.TemporaryDirectory(prefix="wirewatch-produce-batch-") as tmp:
        port, controller_port = free_ports(2)
        config = LocalKafkaConfig(port=port, controller_port=controller_port, state_dir=Path(tmp) / "kafka")
        progress(f"starting local Kafka {kafka_version()} broker in {config.state_dir}")
        status = start(config, timeout=120, progress=progress)
        assert status.pid is not None
        try:
            figures = asyncio.run(
                measure(status.bootstrap, psutil.Process(status.pid), sizes, batch_sizes, args.records, args.rounds)
            )
        finally:
            stop(config)
    summary = {
        "benchmark": "producer max_batch_size: broker and client CPU per record (bursts of 16, linger 20 ms)",
        "records_per_pass": args.records // BURST * BURST,
        "rounds": args.rounds,
        "baseline_batch_size": BASELINE,
        "figures": figures,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode()
    (RESULTS / "produce_batch.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
