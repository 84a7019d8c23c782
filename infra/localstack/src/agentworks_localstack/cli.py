"""``agentworks-pubsub``: run the local emulator, bootstrap the topology, inspect backlog and dead letters."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

from agentworks_platform.service_auth import LocalTokenSigner, ensure_dev_key
from agentworks_platform.settings import DEV_KEY_PATH, DEV_SERVICE_ACCOUNT_DOMAIN
from agentworks_pubsub.topology import TopologyError, load_topology
from google.api_core.exceptions import GoogleAPICallError
from google.cloud import pubsub_v1  # type: ignore[attr-defined]
from google.pubsub_v1 import types

from agentworks_localstack.bootstrap import bootstrap
from agentworks_localstack.emulator import serve
from agentworks_localstack.fleet import DEV_DIR, EMULATOR_PORT, base_urls

DEFAULT_STORE = DEV_DIR / "pubsub.db"
PUSH_EMAIL = f"pubsub-invoker@{DEV_SERVICE_ACCOUNT_DOMAIN}"
SOURCE_ATTRIBUTE = "CloudPubSubDeadLetterSourceSubscription"


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _project(args: argparse.Namespace) -> str:
    return str(args.project or load_topology(args.topology).project)


async def _serve(args: argparse.Namespace) -> None:
    signer = LocalTokenSigner(ensure_dev_key(Path(args.key)), PUSH_EMAIL)
    server, emulator = await serve(Path(args.store), args.host, args.port, signer)
    _out(
        f"Pub/Sub emulator on {args.host}:{emulator.port} (store {args.store}); "
        f"export PUBSUB_EMULATOR_HOST={args.host}:{emulator.port}"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await emulator.stop()
    await server.stop(grace=1)


def cmd_serve(args: argparse.Namespace) -> int:
    asyncio.run(_serve(args))
    return 0


def cmd_bootstrap(args: argparse.Namespace) -> int:
    topology = load_topology(args.topology)
    created = bootstrap(topology, _project(args), base_urls(), PUSH_EMAIL)
    _out("\n".join(f"created {c}" for c in created) or "topology already in place")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    client = pubsub_v1.PublisherClient()
    for topic in client.list_topics(request={"project": f"projects/{_project(args)}"}):
        _out(topic.name.rsplit("/", 1)[-1])
    return 0


def _backlog(store: Path) -> dict[str, int]:
    if not store.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT subscription, COUNT(*) FROM deliveries GROUP BY subscription").fetchall()
    return {name.rsplit("/", 1)[-1]: count for name, count in rows}


def cmd_subscriptions(args: argparse.Namespace) -> int:
    backlog = _backlog(Path(args.store))
    client = pubsub_v1.SubscriberClient()
    rows = []
    for sub in client.list_subscriptions(request={"project": f"projects/{_project(args)}"}):
        short = sub.name.rsplit("/", 1)[-1]
        kind = f"push → {sub.push_config.push_endpoint}" if sub.push_config.push_endpoint else "pull"
        rows.append((short, sub.topic.rsplit("/", 1)[-1], str(backlog.get(short, 0)), kind))
    widths = [max(len(r[i]) for r in [("SUBSCRIPTION", "TOPIC", "BACKLOG", "DELIVERY"), *rows]) for i in range(3)]
    for row in [("SUBSCRIPTION", "TOPIC", "BACKLOG", "DELIVERY"), *rows]:
        _out("  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))
    return 0


def _dead_letter_subscriptions(project: str, topology_path: str | None, only: str | None) -> list[str]:
    topology = load_topology(topology_path)
    dead = {t.name for t in topology.topics if t.dead_letter}
    names = [s.name for s in topology.subscriptions if s.topic in dead and only in (None, s.name)]
    if only and not names:
        raise SystemExit(f"{only} is not a dead-letter subscription of the topology")
    return [f"projects/{project}/subscriptions/{n}" for n in names]


def _pull(client: pubsub_v1.SubscriberClient, subscription: str, limit: int) -> list[types.ReceivedMessage]:
    response = client.pull(request={"subscription": subscription, "max_messages": limit})
    return list(response.received_messages)


def cmd_dead_letters(args: argparse.Namespace) -> int:
    client = pubsub_v1.SubscriberClient()
    project = _project(args)
    for subscription in _dead_letter_subscriptions(project, args.topology, args.subscription):
        received = _pull(client, subscription, args.limit)
        _out(f"{subscription.rsplit('/', 1)[-1]}: {len(received)} dead letter(s)")
        for item in received:
            message = item.message
            attrs = dict(message.attributes)
            _out(
                json.dumps(
                    {
                        "message_id": message.message_id,
                        "type": attrs.get("type"),
                        "event_id": attrs.get("event_id"),
                        "from": attrs.get(SOURCE_ATTRIBUTE),
                        "attempts": attrs.get("CloudPubSubDeadLetterSourceDeliveryCount"),
                    }
                )
            )
        if received:
            client.modify_ack_deadline(
                request={
                    "subscription": subscription,
                    "ack_deadline_seconds": 0,
                    "ack_ids": [r.ack_id for r in received],
                }
            )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Republish dead letters to the topic of the subscription that gave up on them, then ack them."""
    project = _project(args)
    topology = load_topology(args.topology)
    subscriber, publisher = pubsub_v1.SubscriberClient(), pubsub_v1.PublisherClient()
    replayed = 0
    for subscription in _dead_letter_subscriptions(project, args.topology, args.subscription):
        for item in _pull(subscriber, subscription, 1000):
            message = item.message
            if args.message_id and message.message_id not in args.message_id:
                subscriber.modify_ack_deadline(
                    request={
                        "subscription": subscription,
                        "ack_deadline_seconds": 0,
                        "ack_ids": [item.ack_id],
                    }
                )
                continue
            attributes = {k: v for k, v in message.attributes.items() if not k.startswith("CloudPubSubDeadLetter")}
            source = topology.subscription(message.attributes[SOURCE_ATTRIBUTE])
            publisher.publish(publisher.topic_path(project, source.topic), message.data, **attributes).result()
            subscriber.acknowledge(request={"subscription": subscription, "ack_ids": [item.ack_id]})
            replayed += 1
            _out(f"replayed {message.message_id} ({attributes.get('type')}) to {source.topic}")
    _out(f"{replayed} message(s) replayed")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="agentworks-pubsub", description=__doc__)
    root.add_argument("--project", help="GCP project id (default: the topology's)")
    root.add_argument("--topology", help="topology file (default: contracts/topology.yaml)")
    root.add_argument("--store", default=str(DEFAULT_STORE), help="emulator store, for backlog counts")
    commands = root.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the Pub/Sub emulator")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=EMULATOR_PORT)
    serve_cmd.add_argument("--key", default=str(DEV_KEY_PATH), help="signing key for push tokens")
    serve_cmd.set_defaults(run=cmd_serve)
    commands.add_parser("bootstrap", help="create the topology's topics and subscriptions").set_defaults(
        run=cmd_bootstrap
    )
    commands.add_parser("topics", help="list topics").set_defaults(run=cmd_topics)
    commands.add_parser("subscriptions", help="list subscriptions with their backlog").set_defaults(
        run=cmd_subscriptions
    )
    dead = commands.add_parser("dead-letters", help="show dead-lettered messages (left in place)")
    dead.add_argument("subscription", nargs="?", help="one dead-letter subscription (default: all)")
    dead.add_argument("--limit", type=int, default=50)
    dead.set_defaults(run=cmd_dead_letters)
    replay = commands.add_parser("replay", help="republish dead letters to their source topic")
    replay.add_argument("subscription", nargs="?", help="one dead-letter subscription (default: all)")
    replay.add_argument("--message-id", action="append", help="only these dead-letter message ids")
    replay.set_defaults(run=cmd_replay)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command != "serve" and not os.environ.get("PUBSUB_EMULATOR_HOST"):
        os.environ.setdefault("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{EMULATOR_PORT}")
    try:
        return int(args.run(args))
    except (TopologyError, GoogleAPICallError) as exc:
        sys.stderr.write(f"agentworks-pubsub: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
