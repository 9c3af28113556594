"""What the local stack has told the world: `make events` and `make mail`.

Usage: tail.py events [--follow]   the events on the queue `events-tap` (which a rule on the bus
                                   fills with every event of hosting.services), one JSON line
                                   each, taken off the queue as they are printed; --follow keeps
                                   waiting for more.
       tail.py mail [--last N]     the last N (default 10) e-mails the emulator was asked to send
                                   (SES keeps them, readable at /moto-api/data.json).

The emulator is AWS_ENDPOINT_URL (the Makefile's exports: region and dummy credentials too).
"""

import argparse
import html
import json
import os
import re
import sys
import urllib.request

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
TAP_QUEUE = "events-tap"
BODY_LINES = 4


def events(follow: bool) -> None:
    import boto3  # from .venv; `mail` needs only the standard library
    from botocore.exceptions import EndpointConnectionError

    sqs = boto3.client("sqs", endpoint_url=ENDPOINT, region_name=os.environ.get("AWS_REGION", "us-east-1"))
    try:
        queue_url = sqs.get_queue_url(QueueName=TAP_QUEUE)["QueueUrl"]
    except (sqs.exceptions.QueueDoesNotExist, EndpointConnectionError):
        sys.exit(f"no queue {TAP_QUEUE} at {ENDPOINT}: is `make dev` running?")
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=3).get(
            "Messages", []
        )
        if not messages and not follow:
            return
        for message in messages:
            event = json.loads(message["Body"])
            detail = event.get("detail", {})
            line = {"detail-type": event.get("detail-type")}
            line.update({key: detail.get(key) for key in ("id", "service_id", "operation", "status_after")})
            print(json.dumps(line), flush=True)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def text_of(body: str) -> list[str]:
    """The body's first lines as text (the emulator keeps only the HTML part when there is one)."""
    if re.search(r"<[a-zA-Z][^>]*>", body):
        body = re.sub(r"(?is)<(style|script|head)\b.*?</\1>", "", body)
        body = re.sub(r"(?i)<(br|/?(p|div|h[1-6]|li|tr|table|ul|ol))\b[^>]*>", "\n", body)
        body = html.unescape(re.sub(r"(?s)<[^>]+>", "", body))
    lines = [" ".join(line.split()) for line in body.splitlines()]
    return [line for line in lines if line][:BODY_LINES]


def mail(last: int) -> None:
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/moto-api/data.json", timeout=10) as response:
            data = json.load(response)
    except OSError as e:
        sys.exit(f"no emulator at {ENDPOINT} ({e}): is `make dev` running?")
    messages = data.get("ses", {}).get("Message", [])
    for message in messages[-last:] if last > 0 else []:
        to = ", ".join(message.get("destinations", {}).get("ToAddresses", []))
        print(f"To: {to}\nFrom: {message.get('source')}\nSubject: {message.get('subject')}")
        for line in text_of(message.get("body") or ""):
            print(f"  {line}")
        print()
    print(f"the last {min(len(messages), max(last, 0))} of {len(messages)} e-mails sent")


def main() -> None:
    parser = argparse.ArgumentParser(description="Prints the local stack's events or e-mails.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("events").add_argument("--follow", action="store_true")
    commands.add_parser("mail").add_argument("--last", type=int, default=10)
    args = parser.parse_args()
    if args.command == "events":
        events(args.follow)
    else:
        mail(args.last)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
