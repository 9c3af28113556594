"""Checks that moto_server's Query patch (patch_queries) answers every Query as moto does.

One table of random items (ties on index sort keys, string and number keys, items outside
the indexes) is queried page by page, forwards and backwards, with key conditions, filters and
limits, first by moto as it is and then patched; the pages must be the same. Exits 1 when they
differ. Run by the emulator's tests (tests/api/emulator.rs).
"""

import json
import os
import random
import sys

# In-process moto only: with an endpoint set, boto3 would go to a running emulator instead.
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3
from moto import mock_aws
from moto.dynamodb.models.table import Table

import moto_server


def pages(client, **query):
    found, start = [], None
    while True:
        args = dict(TableName="t", **query)
        if start:
            args["ExclusiveStartKey"] = start
        answer = client.query(**args)
        found.append([(item["pk"]["S"], item["sk"]["S"]) for item in answer["Items"]])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return found
        if len(found) > 200:  # no walk here has as many pages: its pages never end
            return found + ["the pages never end"]


def queries():
    text = lambda value: {"S": value}
    number = lambda value: {"N": value}
    for forward in (True, False):
        for limit in (7, 100, 1000):
            common = dict(Limit=limit, ScanIndexForward=forward)
            yield dict(IndexName="strings", KeyConditionExpression="gpk = :p AND gsk <= :b",
                       ExpressionAttributeValues={":p": text("A"), ":b": text("020")}, **common)
            yield dict(IndexName="strings", KeyConditionExpression="gpk = :p AND gsk BETWEEN :a AND :b",
                       ExpressionAttributeValues={":p": text("B"), ":a": text("005"), ":b": text("030"),
                                                  ":v": number("4")},
                       FilterExpression="v > :v", **common)
            yield dict(IndexName="strings", KeyConditionExpression="gpk = :p",
                       ExpressionAttributeValues={":p": text("C")}, **common)
            yield dict(IndexName="numbers", KeyConditionExpression="npk = :p AND nsk >= :b",
                       ExpressionAttributeValues={":p": number("10"), ":b": number("-5")}, **common)
            # 1.0 is the number 1: moto compares numbers by value, and so must the patch.
            yield dict(IndexName="numbers", KeyConditionExpression="npk = :p",
                       ExpressionAttributeValues={":p": number("1.0")}, **common)
            for partition in ("P#3", "P#17", "P#99"):
                yield dict(KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": text(partition)}, **common)
                yield dict(KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                           ExpressionAttributeValues={":p": text(partition), ":s": text("S#1")}, **common)


def answers() -> list:
    generator = random.Random(7)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        index = lambda name, pk, sk: {
            "IndexName": name,
            "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gpk", "gsk")]
            + [{"AttributeName": n, "AttributeType": "N"} for n in ("npk", "nsk")],
            GlobalSecondaryIndexes=[index("strings", "gpk", "gsk"), index("numbers", "npk", "nsk")],
            BillingMode="PAY_PER_REQUEST",
        )
        for _ in range(500):
            item = {
                "pk": {"S": f"P#{generator.randint(0, 60)}"},
                "sk": {"S": f"S#{generator.randint(0, 99999)}"},
                "v": {"N": str(generator.randint(0, 9))},
            }
            if generator.random() < 0.7:
                item["gpk"] = {"S": generator.choice(["A", "B", "C"])}
                item["gsk"] = {"S": f"{generator.randint(0, 40):03}"}
            if generator.random() < 0.5:
                item["npk"] = {"N": generator.choice(["1", "2", "10"])}
                item["nsk"] = {"N": str(generator.randint(-50, 50))}
            client.put_item(TableName="t", Item=item)
        found = [pages(client, **query) for query in queries()]
        found.append([(i["pk"]["S"], i["sk"]["S"]) for i in client.scan(TableName="t", Limit=200)["Items"]])
        return found


def main() -> None:
    unpatched = answers()
    moto_server.patch_queries()
    if Table.query is not moto_server._query:
        sys.exit("the Query patch is not installed")
    patched = answers()
    items = sum(len(page) for walk in unpatched for page in walk)
    if json.dumps(unpatched) != json.dumps(patched):
        sys.exit(f"the patched Query answers otherwise than moto ({items} items read)")
    print(f"the patched Query answers as moto does: {len(unpatched)} queries, {items} items read")


if __name__ == "__main__":
    main()
