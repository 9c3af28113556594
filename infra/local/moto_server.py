"""The local AWS emulator: moto server on loopback, single-threaded.

moto is not safe under concurrent requests (two conditional writers can both win), so every
request is served one at a time, which makes each one atomic as in DynamoDB.

Usage: moto_server.py [--host 127.0.0.1] [--port 4566] [--parent-pid PID]
With --parent-pid the server exits by itself once that process is gone, so a test run that
started it never leaves it behind.
"""

import argparse
import hashlib
import inspect
import json
import os
import sys
import time

import copy

import moto
import moto.dynamodb.models as dynamodb_models
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

from parent_watch import exit_with_parent

# moto backs up a transaction by deep-copying the whole table once per item of the transaction,
# so a write's cost grows with the table: a thousand services made each transaction take
# seconds. The patch below keeps moto's own transaction code and only replaces its backup: the
# items the transaction names are copied before it runs and put back if it is cancelled, which
# leaves the table exactly as the whole-table copy would. Written against this moto version.
#
# moto also records a cancelled transaction's writes (and the patch's restoring deletes) in the
# tables' DynamoDB Streams, which real DynamoDB never does: a consumer of the stream would
# publish changes that were never committed. A stream shard is a list whose position is the
# sequence number (StreamShard.add numbers a record len(items) + starting number, and
# StreamShard.get reads by that position), so the patch notes each shard's length before the
# transaction and cuts the shard back to it once the items are restored. No one can have read
# the cut records (the server answers one request at a time), so sequence numbers stay unique
# and increasing as readers see them. (moto's own Lambda mappings on a table, which we do not
# use, would have been handed them already.)
PATCHED_MOTO = "5.2.5"


def _require_patched_moto(patch: str) -> None:
    if moto.__version__ != PATCHED_MOTO:
        sys.exit(f"moto {moto.__version__}: the {patch} patch was written for {PATCHED_MOTO}")


class _TransactionBackup:
    """copy.deepcopy for moto's DynamoDB module that does not copy a table while a
    transaction runs (the transaction's items are backed up one by one instead)."""

    in_transaction = False

    @classmethod
    def deepcopy(cls, value, memo=None):
        if cls.in_transaction and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _item_key(backend, entry):
    """(table, hash value, range value) of one transaction entry, or None if it names none."""
    op = next(iter(entry.values()))
    table_name = op.get("TableName")
    if table_name not in backend.tables:
        return None
    table = backend.tables[table_name]
    if "Item" in op:
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs.get(table.range_key_attr)
    else:
        key = op.get("Key") or {}
    try:
        hash_value, range_value = backend.get_keys_value(table, key)
    except Exception:  # an invalid key: moto's own code refuses it before writing anything
        return None
    return table, hash_value, range_value


def _stream_lengths(backend):
    """(stream shard, its number of records) of every table of the backend that has a stream."""
    shards = [table.stream_shard for table in backend.tables.values() if table.stream_shard is not None]
    return [(shard, len(shard.items)) for shard in shards]


def _transact_write_items(self, transact_items):
    streams = _stream_lengths(self)
    backups = []
    for entry in transact_items[:100]:
        found = _item_key(self, entry)
        if found is not None:
            table, hash_value, range_value = found
            backups.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    _TransactionBackup.in_transaction = True
    try:
        return _original_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, before in reversed(backups):
            if before is None:
                table.delete_item(hash_value, range_value)
            elif range_value:
                table.items[hash_value][range_value] = before
            else:
                table.items[hash_value] = before
        for shard, length in streams:  # no stream record of the writes undone nor of the undoing
            del shard.items[length:]
        raise
    finally:
        _TransactionBackup.in_transaction = False


def patch_transactions() -> None:
    global _original_transact_write_items
    _require_patched_moto("transaction")
    _original_transact_write_items = DynamoDBBackend.transact_write_items
    dynamodb_models.copy = _TransactionBackup
    DynamoDBBackend.transact_write_items = _transact_write_items


# moto ignores the ClientRequestToken of TransactWriteItems, so a retried transaction that had
# already committed (its answer lost on the way back) is applied a second time: a counter is
# incremented twice, a stream record is published twice. Real DynamoDB remembers a token that
# succeeded for 10 minutes from when it completed: the same token with the same request answers
# success again without running the transaction, the same token with any other request is
# refused with IdempotentParameterMismatchException, and a transaction that was cancelled or
# failed is not remembered, so its token may run again. The patch does the same in the
# response handler, the only place that sees the token (DynamoDBBackend.transact_write_items is
# handed the items alone). A request is compared by its JSON body without the token,
# canonicalised (keys sorted) and hashed; tokens are scoped to the account and region as a
# table is. The SDKs put a fresh random token on every call that names none, so every
# transaction is remembered: the oldest are forgotten, lazily, on the next transaction that
# carries a token. No locking: the server answers one request at a time.
IDEMPOTENCY_WINDOW_SECONDS = 600.0

# (account, region, token) -> (time.monotonic() the transaction completed, request
# fingerprint, the response it was answered), oldest first: a token is only ever added when
# absent, at its completion time, so insertion order is completion order.
_completed_tokens: dict[tuple[str, str, str], tuple[float, str, object]] = {}


class IdempotentParameterMismatchException(DynamodbException):
    error_type = ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            IdempotentParameterMismatchException.error_type,
            message="The request uses the same client token as a previous, but non-identical request.",
        )


def _forget_expired_tokens(now: float) -> None:
    while _completed_tokens:
        token, (completed, _, _) = next(iter(_completed_tokens.items()))
        if now - completed < IDEMPOTENCY_WINDOW_SECONDS:
            return
        del _completed_tokens[token]


def _handle_transact_write_items(self):
    request = json.loads(self.raw_body)
    token = request.pop("ClientRequestToken", None)
    if token is None:
        return _original_handle_transact_write_items(self)
    key = (self.current_account, self.region, token)
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    _forget_expired_tokens(time.monotonic())
    if key in _completed_tokens:
        _, first_fingerprint, first_result = _completed_tokens[key]
        if fingerprint != first_fingerprint:
            raise IdempotentParameterMismatchException()
        return ActionResult(copy.deepcopy(first_result))
    response = _original_handle_transact_write_items(self)  # a cancelled one raises: not remembered
    _completed_tokens[key] = (time.monotonic(), fingerprint, copy.deepcopy(response.result))
    return response


def patch_client_request_tokens() -> None:
    global _original_handle_transact_write_items
    _require_patched_moto("ClientRequestToken")
    _original_handle_transact_write_items = DynamoHandler.transact_write_items
    DynamoHandler.transact_write_items = _handle_transact_write_items


# moto answers a Query by sorting every item of the table (Table.all_items) and then walking
# them all, comparing DynamoType objects, whose every comparison recomputes both values
# (DynamoType.cast_value): a Query's cost grows with the whole table, not with its partition,
# and ten thousand services made one index Query take seconds. The patch keeps moto's own Query
# code and hands it fewer items, in an order it does not depend on: a Query of the table gets
# its partition's items, a Query of an index the items whose index hash keys equal the
# condition's (compared as moto compares them, so no item moto would keep is left out; moto
# checks them again itself). Its sorts (all_items, sorted_items) compute each item's sort key
# once instead of once per comparison, which orders alike: DynamoType's comparisons are those of
# its cast_value, and a key attribute has one type.
_query_candidates: dict[int, list] = {}


def _same_value(found, expected) -> bool:
    if found is None or found.type != expected.type:
        return False
    if found.type == "S":
        return found.value == expected.value
    return found.cast_value == expected.cast_value


def _unsorted_items(table) -> list:
    if not table.range_key_attr:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


def _query(self, *args, **kwargs):
    call = _query_signature.bind(self, *args, **kwargs).arguments
    conditions = call.get("hash_key_conditions") or []
    if call.get("index_name"):
        candidates = None
        if conditions:
            candidates = [
                item
                for item in _unsorted_items(self)
                if all(_same_value(item.attrs.get(name), value) for name, value in conditions)
            ]
    elif call.get("hash_key") is not None:
        partition = self.items.get(call["hash_key"])
        if partition is None:
            candidates = []
        else:
            candidates = list(partition.values()) if self.range_key_attr else [partition]
    else:
        candidates = None
    if candidates is None:
        return _original_query(self, *args, **kwargs)
    _query_candidates[id(self)] = candidates
    try:
        return _original_query(self, *args, **kwargs)
    finally:
        del _query_candidates[id(self)]


def _all_items(self) -> list:
    candidates = _query_candidates.get(id(self))
    if candidates is not None:
        return list(candidates)
    if self.range_key_attr:
        key = lambda item: (item.hash_key.cast_value, item.range_key.cast_value)
    else:
        key = lambda item: item.hash_key.cast_value
    return sorted(_unsorted_items(self), key=key)


def _sorted_items(self, hash_key_attrs, range_key_attrs, items):
    names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda item: tuple(item.attrs[name].cast_value for name in names))
    return items


def patch_queries() -> None:
    global _original_query, _query_signature
    _require_patched_moto("Query")
    _original_query = Table.query
    _query_signature = inspect.signature(_original_query)
    Table.query = _query
    Table.all_items = _all_items
    Table.sorted_items = _sorted_items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the emulator listens on loopback only")
    if args.parent_pid:
        exit_with_parent(args.parent_pid)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    patch_transactions()
    patch_client_request_tokens()
    patch_queries()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
