"""`make redrive QUEUE=name`: moves what a dead-letter queue holds back to the queue that sent
it there (the queue whose redrive policy names it), oldest first, each message once: sent to the
source, then deleted here. A queue no other redrives into (a rule's or a job's failure queue) is
refused: its messages are records of failures, not work to hand back (see docs/operations.md).

In AWS the same is `aws sqs start-message-move-task --source-arn <dead-letter queue ARN>`. The
emulator is AWS_ENDPOINT_URL (the Makefile's exports: region and dummy credentials too).
"""

import json
import os
import sys

import boto3

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1]:
        sys.exit("usage: make redrive QUEUE=<dead-letter queue name>")
    name = sys.argv[1]
    sqs = boto3.client("sqs", endpoint_url=ENDPOINT, region_name=os.environ.get("AWS_REGION", "us-east-1"))
    dead = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sources = []
    for url in sqs.list_queues().get("QueueUrls", []):
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        if json.loads(policy.get("RedrivePolicy", "{}")).get("deadLetterTargetArn") == dead_arn:
            sources.append(url)
    if len(sources) != 1:
        sys.exit(f"{name}: no single queue redrives into it ({sources}); nothing moved")
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            break
        for message in messages:
            sqs.send_message(QueueUrl=sources[0], MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dead, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    print(json.dumps({"queue": name, "to": sources[0].rsplit("/", 1)[-1], "moved": moved}))


if __name__ == "__main__":
    main()
