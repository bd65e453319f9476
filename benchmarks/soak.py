"""Soak test (not in CI): a live feed for N minutes while workers are SIGKILLed and restarted.

    .venv/bin/python benchmarks/soak.py --minutes 3 --kill-every 30
    .venv/bin/python benchmarks/soak.py --bootstrap 127.0.0.1:9092 --minutes 10 --workers 2

Without ``--bootstrap`` it starts a broker of its own (the project's local Kafka, free ports,
a temporary state dir) and stops it at the end. It produces ``--rate`` distinct articles per
second (a few alert-worthy), kills one worker with SIGKILL every ``--kill-every`` seconds and
starts a fresh one with the same app id at once, then waits for the backlog to drain and
prints one JSON object: sent, workers killed, enriched, lost, doubled (extra copies by key),
copies that differ beyond ``processed_at`` (must be 0), alerts, timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaProducer  # noqa: E402

from tests.integration.harness import (  # noqa: E402
    FAST_FAILOVER_ENV,
    Collected,
    WorkerProcess,
    collect_settled,
    commit_group_at_end,
    end_offsets,
    free_ports,
    new_app_id,
    process_rss,
    synthetic_articles,
    tally,
)
from topics import catalog  # noqa: E402
from workers.admin import create_topics  # noqa: E402
from workers.localkafka import LocalKafkaConfig, start, stop  # noqa: E402
from workers.settings import Settings  # noqa: E402


async def soak(args: argparse.Namespace, bootstrap: str, work: Path) -> dict[str, object]:
    tag = f"soak-{uuid.uuid4().hex[:6]}"
    total = int(args.minutes * 60 * args.rate)
    articles = synthetic_articles(tag, total, seed=args.seed)
    app_id = new_app_id("soak")
    await create_topics(Settings(bootstrap_servers=bootstrap))
    await commit_group_at_end(bootstrap, app_id)
    start_at = await end_offsets(bootstrap)
    workers = [
        WorkerProcess(bootstrap, app_id, work, f"w{i}-0", **FAST_FAILOVER_ENV).start() for i in range(args.workers)
    ]
    await asyncio.to_thread(workers[0].wait_ready)
    state = {"sent": 0, "killed": 0, "producing": True, "peak_rss": 0}
    started = time.monotonic()

    async def feed() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for i, (article_id, value) in enumerate(articles):
                due = started + i / args.rate
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                await producer.send_and_wait(catalog.RAW.name, value, key=article_id.encode())
                state["sent"] += 1
        finally:
            await producer.stop()
            state["producing"] = False

    async def killer() -> None:
        n = 0
        while state["producing"]:
            await asyncio.sleep(args.kill_every)
            if not state["producing"]:
                break
            slot = n % len(workers)
            victim = workers[slot]
            if victim.alive() and victim.proc is not None:
                state["peak_rss"] = max(int(state["peak_rss"]), process_rss(victim.proc.pid))
            victim.kill()
            state["killed"] += 1
            n += 1
            workers[slot] = WorkerProcess(bootstrap, app_id, work, f"w{slot}-{n}", **FAST_FAILOVER_ENV).start()
            print(
                f"{time.monotonic() - started:7.1f}s killed {victim.log_path.name}, sent {state['sent']}",
                file=sys.stderr,
                flush=True,
            )

    ids = {article_id for article_id, _ in articles}

    def done(c: Collected) -> bool:
        return not state["producing"] and {v.get("id") for v in c.on(catalog.ENRICHED.name)} >= ids

    tasks = [asyncio.create_task(feed()), asyncio.create_task(killer())]
    try:
        got = await collect_settled(bootstrap, start_at, done, timeout=args.minutes * 60 + args.drain, quiet=10.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for w in workers:
            if w.alive() and w.proc is not None:
                state["peak_rss"] = max(int(state["peak_rss"]), process_rss(w.proc.pid))
            w.stop()
    result = tally(got, ids)
    figures = result.figures()
    figures.update(
        sent=state["sent"],
        workers=args.workers,
        workers_killed=state["killed"],
        kill_every_s=args.kill_every,
        minutes=args.minutes,
        rate_per_s=args.rate,
        elapsed_s=round(time.monotonic() - started, 1),
        peak_worker_rss_mib=round(int(state["peak_rss"]) / 2**20),
        lost_ids=result.lost[:20],
    )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--kill-every", type=float, default=30.0, help="seconds between SIGKILLs")
    parser.add_argument("--bootstrap", help="use this broker (the catalog's topics are created if missing)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=10.0, help="articles per second")
    parser.add_argument("--drain", type=float, default=240.0, help="seconds allowed after the feed ends")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wirewatch-soak-") as tmp:
        work = Path(tmp)
        config = None
        bootstrap = args.bootstrap
        if bootstrap is None:
            port, controller_port = free_ports(2)
            config = LocalKafkaConfig(port=port, controller_port=controller_port, state_dir=work / "kafka")
            bootstrap = start(config, timeout=120).bootstrap
        try:
            figures = asyncio.run(soak(args, bootstrap, work))
        finally:
            if config is not None:
                stop(config)
    print(json.dumps(figures, indent=1))
    return 0 if figures["lost"] == 0 and figures["not_idempotent"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
