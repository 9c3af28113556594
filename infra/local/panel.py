"""The reference control panel: implements the processing-module contract (see
shared/src/panel.rs) for every product type, with finite capacity, failures on demand, and a
record of the calls it received. Loopback only; standard library only.

Usage: panel.py [--port 8700] [--capacity 100] [--parent-pid PID]

Operations: POST {prefix}/{product_type}/operations with the operation JSON. `prefix` (any
path, possibly empty) names an independent panel, so tests running side by side do not share
capacity, failures or records.
- 200 {"operation_id", "result": "done"}; an operation_id seen before answers its first answer
  again without doing anything.
- 409 {"error": "insufficient_resources"} when an activation finds the product type full.
- the status set by a failure order, with {"error": "injected failure"}.

Settings (same prefix), answered at once; a service's settings start when it is activated:
- GET/POST {prefix}/{type}/services/{id}/ip-addresses, DELETE .../ip-addresses/{address}
  (a VPS gets one IPv4 address, plus one per `ipv4` option and per `ipv6` option);
- GET {prefix}/{type}/services/{id}/statistics?from=&to= (one sample a day, at most 366);
- GET/PUT {prefix}/domain/services/{id}/nameservers and .../whois;
- GET {prefix}/domain/domains/check?name= (taken: registered here, or a first label
  starting with "taken");
- GET/POST {prefix}/vdc/services/{id}/virtual-servers, DELETE .../virtual-servers/{vs_id}
  (a data center has 4 vCPU plus its `vcpu` option, 16384 MB of memory and 500 GB of disk).
A POST with a request_id seen before (in its body), or a DELETE (in its query), answers its
first answer again; a DELETE answers what it removed.

Single sign-on (same prefix):
- POST {prefix}/{type}/services/{id}/session {} answers 200 {"url", "expires_at"}: a new
  one-time link, http://{Host}{prefix}/{type}/login/{token} (the Host the call came to, a
  random token), valid 60 seconds (RFC 3339 `expires_at`); 404 for a service the panel holds
  no account of. Each call makes a new link.
- GET {prefix}/{type}/login/{token}: 200 and a small page saying who is signed in, the first
  time within its 60 seconds; 410 once used or expired; 404 for a token never given.

Control (same prefix):
- POST {prefix}/control/capacity {"vps": 0, ...}: services each product type can host.
- POST {prefix}/control/fail {"product_type": "vps", "count": 2, "status": 500}: the next
  `count` operations of that type fail (count -1: until told otherwise); with "every": 10,
  only every tenth call fails until `count` have; with "operation": "resume", only that
  operation's calls fail (and count).
- POST {prefix}/control/hang {"product_type": "vps", "seconds": 3}: every later operation
  of that type is answered only after that many seconds (0: at once again), as a panel that
  hangs past its callers' timeouts. With "settings_seconds": 6, every later change of that
  type's settings (a POST, PUT or DELETE) is carried out at once and answered only after that
  many seconds: a change made whose answer its caller never gets.
- GET  {prefix}/control/calls: every operation call received, in order.
- GET  {prefix}/control/concurrency: {"in_flight", "max_in_flight"}: the operation calls being
  answered now, and the most there have been at once (a hang makes calls overlap).
- POST {prefix}/control/drift {"service_id", "status": "missing"|"suspended"|"active",
  "tariff_id"?, "options"?}: changes what the panel holds for one service without telling
  billing (as an administrator would by hand); "missing" removes its account. With
  "product_type", an account the panel no longer holds comes back (a restored backup).
- POST {prefix}/control/orphan {"account_id", "product_type", "tariff_id", "params"}: an
  account billing never ordered.
- POST {prefix}/control/accounts {"product_type", "accounts": [{"service_id", "tariff_id",
  "options"?, "status"?}]}: accounts held as if their activations had run (a benchmark's
  thousands at once).
- POST {prefix}/control/session {"seconds": 60, "scheme": "http"}: what later sign-in links
  look like (a link valid longer than a minute, or not http, for the backend to refuse).

Accounts (same prefix): GET {prefix}/{type}/services?cursor=&limit= answers
{"items": [{"service_id", "account_id", "status", "tariff_id", "options", "params"}],
"next_cursor"}, every account the panel holds for the type in a stable order, `limit` (at
most 500, default 100) a page; an account billing never ordered has "service_id": null.
PUT {prefix}/{type}/accounts/{account_id} {"service_id"} gives an account billing never ordered
our service_id (its adoption): 200 the account, 404 no such account, 409 {"error":
"already_linked"} when it names a service already (the same one again answers 200).
Operations keep the accounts in step: an activation (or a transfer here) opens one, a
suspension and a resume set its status, a tariff or options change sets those, a deletion
closes it.
"""

import argparse
import hashlib
import html
import json
import re
import secrets
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from parent_watch import exit_with_parent

PRODUCT_TYPES = ("vps", "shared_hosting", "dedicated", "domain", "ssl", "vdc")
LOCK = threading.Lock()
PANELS = {}
DEFAULT_CAPACITY = 100
# How long a sign-in link stays valid.
SESSION_SECONDS = 60


def panel(prefix):
    if prefix not in PANELS:
        PANELS[prefix] = {
            "capacity": {t: DEFAULT_CAPACITY for t in PRODUCT_TYPES},
            "hosted": {t: set() for t in PRODUCT_TYPES},
            "failures": {},
            "hangs": {},
            "settings_hangs": {},
            "answers": {},
            "calls": [],
            # Operation calls being answered now, and the most there have been at once.
            "in_flight": 0,
            "max_in_flight": 0,
            "services": {},
            "registered": set(),
            "next_address": 1,
            # Per type, the accounts by their key: our service_id, or an orphan's account_id.
            "accounts": {t: {} for t in PRODUCT_TYPES},
            # Sign-in links by token: {"service_id", "product_type", "expires", "used"}.
            "sessions": {},
            "session_shape": {"seconds": SESSION_SECONDS, "scheme": "http"},
        }
    return PANELS[prefix]


def quantity(op, option_id):
    return sum(int(o.get("quantity", 0)) for o in op.get("options") or [] if o.get("id") == option_id)


def new_address(state, version):
    n = state["next_address"]
    state["next_address"] += 1
    if version == 4:
        return {"address": f"198.51.{100 + n // 250}.{n % 250 + 1}", "version": 4}
    return {"address": f"2001:db8::{n:x}", "version": 6}


def fit_addresses(state, settings, version, wanted):
    """Adds or drops addresses of a version until the service holds `wanted`."""
    held = [a for a in settings["addresses"] if a["version"] == version]
    for _ in range(wanted - len(held)):
        settings["addresses"].append(new_address(state, version))
    for extra in held[wanted:] if wanted < len(held) else []:
        settings["addresses"].remove(extra)


def configure(state, product_type, op):
    """Keeps a service's settings in step with the operation carried out."""
    service = op.get("service_id")
    operation = op["operation"]
    if operation == "deletion":
        state["services"].pop(service, None)
        state["registered"].discard((op.get("params") or {}).get("domain"))
        return
    if operation not in ("activation", "options_change", "tariff_change"):
        return
    settings = state["services"].setdefault(service, {
        "addresses": [], "nameservers": ["ns1.panel.example", "ns2.panel.example"], "whois": None,
        "servers": {}, "pool": {},
    })
    if product_type == "vps":
        fit_addresses(state, settings, 4, 1 + quantity(op, "ipv4"))
        fit_addresses(state, settings, 6, quantity(op, "ipv6"))
    if product_type == "vdc":
        settings["pool"] = {"vcpu": 4 + quantity(op, "vcpu"), "memory_mb": 16384, "disk_gb": 500}
    if product_type == "domain" and operation == "activation":
        state["registered"].add((op.get("params") or {}).get("domain"))


def keep_account(state, product_type, op):
    """Keeps the type's accounts in step with the operation carried out."""
    accounts = state["accounts"][product_type]
    service, operation = op.get("service_id"), op["operation"]
    if operation in ("activation", "transfer"):
        accounts[service] = {
            "service_id": service, "account_id": f"acct-{service}", "status": "active",
            "tariff_id": op.get("tariff_id"), "options": op.get("options") or [],
            "params": op.get("params") or {},
        }
        return
    account = accounts.get(service)
    if account is None:
        return
    if operation == "deletion":
        del accounts[service]
    elif operation == "suspension":
        account["status"] = "suspended"
    elif operation == "resume":
        account["status"] = "active"
    elif operation == "tariff_change":
        account["tariff_id"] = op.get("tariff_id")
    elif operation == "options_change":
        account["options"] = op.get("options") or []


def accounts_page(state, product_type, query):
    """One page of the type's accounts, after `cursor` (a key), in key order."""
    try:
        limit = min(500, max(1, int(query.get("limit", ["100"])[0])))
    except ValueError:
        return 400, {"error": "limit must be a number"}
    cursor = query.get("cursor", [""])[0]
    accounts = state["accounts"][product_type]
    keys = sorted(k for k in accounts if k > cursor)
    page = keys[:limit]
    return 200, {
        "items": [dict(accounts[k]) for k in page],
        "next_cursor": page[-1] if len(keys) > limit else None,
    }


def drift(state, body):
    """Changes one service's account behind billing's back."""
    service, status = body.get("service_id"), body.get("status")
    if status not in ("missing", "suspended", "active"):
        return 400, {"error": "status must be missing, suspended or active"}
    for product_type, accounts in state["accounts"].items():
        if service in accounts:
            if status == "missing":
                del accounts[service]
                state["hosted"][product_type].discard(service)
                return 200, {"service_id": service, "status": "missing"}
            account = accounts[service]
            account["status"] = status
            for field in ("tariff_id", "options"):
                if field in body:
                    account[field] = body[field]
            return 200, account
    # Not held: with a product type, the account comes back (a node restored from a backup).
    product_type = body.get("product_type")
    if status != "missing" and product_type in PRODUCT_TYPES:
        account = {
            "service_id": service, "account_id": f"acct-{service}", "status": status,
            "tariff_id": body.get("tariff_id"), "options": body.get("options") or [],
            "params": body.get("params") or {},
        }
        state["accounts"][product_type][service] = account
        state["hosted"][product_type].add(service)
        return 200, account
    return 404, {"error": "no_such_service"}


def orphan(state, body):
    """An account billing never ordered."""
    product_type, account_id = body.get("product_type"), body.get("account_id")
    if product_type not in PRODUCT_TYPES or not account_id:
        return 400, {"error": "account_id and a known product_type are required"}
    account = {
        "service_id": None, "account_id": account_id, "status": body.get("status", "active"),
        "tariff_id": body.get("tariff_id"), "options": body.get("options") or [],
        "params": body.get("params") or {},
    }
    state["accounts"][product_type][account_id] = account
    return 200, account


def link_account(state, product_type, account_id, body):
    """An orphan account given our service_id (billing adopted it)."""
    service = body.get("service_id")
    accounts = state["accounts"][product_type]
    if not service:
        return 400, {"error": "service_id is required"}
    if service in accounts and accounts[service]["account_id"] == account_id:
        return 200, accounts[service]
    account = accounts.get(account_id)
    if account is None:
        return 404, {"error": "no_such_account"}
    if account["service_id"] is not None:
        return 409, {"error": "already_linked"}
    del accounts[account_id]
    account["service_id"] = service
    accounts[service] = account
    state["hosted"][product_type].add(service)
    return 200, account


def seed_accounts(state, body):
    """Accounts held as if activated, in bulk."""
    product_type = body.get("product_type")
    if product_type not in PRODUCT_TYPES or not isinstance(body.get("accounts"), list):
        return 400, {"error": "a known product_type and a list of accounts are required"}
    for given in body["accounts"]:
        service = given["service_id"]
        state["accounts"][product_type][service] = {
            "service_id": service, "account_id": f"acct-{service}", "status": given.get("status", "active"),
            "tariff_id": given.get("tariff_id"), "options": given.get("options") or [],
            "params": given.get("params") or {},
        }
        state["hosted"][product_type].add(service)
    return 200, {"held": len(state["accounts"][product_type])}


def operate(state, product_type, op):
    """Carries an operation out; answers (status, body)."""
    op_id = op.get("operation_id")
    if not op_id or op.get("operation") is None:
        return 400, {"error": "operation_id and operation are required"}
    if op_id in state["answers"]:
        return state["answers"][op_id]
    failure = state["failures"].get(product_type)
    if failure and failure["count"] != 0 and failure["operation"] in (None, op["operation"]):
        failure["seen"] += 1
        if failure["seen"] % failure["every"] == 0:
            if failure["count"] > 0:
                failure["count"] -= 1
            return failure["status"], {"error": "injected failure"}
    hosted = state["hosted"][product_type]
    service = op.get("service_id")
    if op["operation"] == "activation" and service not in hosted:
        if len(hosted) >= state["capacity"][product_type]:
            answer = (409, {"error": "insufficient_resources"})
            state["answers"][op_id] = answer
            return answer
        hosted.add(service)
    if op["operation"] == "deletion":
        hosted.discard(service)
    configure(state, product_type, op)
    keep_account(state, product_type, op)
    answer = (200, {"operation_id": op_id, "result": "done"})
    state["answers"][op_id] = answer
    return answer


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def open_session(state, product_type, service, host, prefix):
    """A new one-time sign-in link into a service the panel holds."""
    if service not in state["accounts"][product_type]:
        return 404, {"error": "no_such_service"}
    token = secrets.token_urlsafe(24)
    shape = state["session_shape"]
    expires = time.time() + shape["seconds"]
    state["sessions"][token] = {"service_id": service, "product_type": product_type,
                                "expires": expires, "used": False}
    url = f"{shape['scheme']}://{host}{prefix}/{product_type}/login/{token}"
    return 200, {"url": url, "expires_at": rfc3339(expires)}


def use_session(state, product_type, token):
    """Signs in with a link: once, within its time."""
    session = state["sessions"].get(token)
    if session is None or session["product_type"] != product_type:
        return 404, None
    if session["used"] or time.time() > session["expires"]:
        return 410, None
    session["used"] = True
    return 200, session


def usage(service, start, end):
    """One made-up but stable sample a day from `start` to `end`."""
    def parse(raw):
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    day, end = parse(start), parse(end)
    items = []
    while day <= end and len(items) < 366:
        seed = hashlib.sha256(f"{service}{day.date()}".encode()).digest()
        items.append({
            "at": day.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "cpu_percent": round(seed[0] / 2.55, 1),
            "memory_mb": 256 + seed[1] * 8,
            "disk_mb": 1024 + seed[2] * 40,
            "traffic_mb": seed[3] * 20,
        })
        day += timedelta(days=1)
    return items


def used(settings):
    servers = settings["servers"].values()
    return {r: sum(s[r] for s in servers) for r in ("vcpu", "memory_mb", "disk_gb")}


def count_address(state, service, version, change):
    """An address added or removed is one more or one less of the account's `ipv4`/`ipv6`
    option, as billing counts it (the first IPv4 address comes with the VPS)."""
    option = "ipv4" if version == 4 else "ipv6"
    for accounts in state["accounts"].values():
        account = accounts.get(service)
        if account is None:
            continue
        options = [dict(o) for o in account["options"]]
        line = next((o for o in options if o.get("id") == option), None)
        if line is None:
            line = {"id": option, "quantity": 0}
            options.append(line)
        line["quantity"] = max(0, int(line.get("quantity", 0)) + change)
        account["options"] = [o for o in options if o["quantity"] > 0]


def service_setting(state, method, service, rest, query, body):
    """Answers (status, body) for a call about one service's settings."""
    settings = state["services"].get(service)
    if settings is None:
        return 404, {"error": "no_such_service"}
    name, item = rest[0], (unquote(rest[1]) if len(rest) > 1 else None)
    if name == "ip-addresses":
        if method == "GET" and item is None:
            return 200, {"items": settings["addresses"]}
        if method == "POST" and item is None:
            version = body.get("version")
            if version not in (4, 6):
                return 400, {"error": "version must be 4 or 6"}
            address = new_address(state, version)
            settings["addresses"].append(address)
            count_address(state, service, version, 1)
            return 201, address
        if method == "DELETE" and item is not None:
            held = [a for a in settings["addresses"] if a["address"] == item]
            if not held:
                return 404, {"error": "no_such_address"}
            settings["addresses"].remove(held[0])
            count_address(state, service, held[0]["version"], -1)
            return 200, held[0]
    if name == "statistics" and method == "GET":
        return 200, {"items": usage(service, query["from"][0], query["to"][0])}
    if name == "nameservers":
        if method == "PUT":
            settings["nameservers"] = body.get("nameservers")
        return 200, {"nameservers": settings["nameservers"]}
    if name == "whois":
        if method == "PUT":
            settings["whois"] = body.get("registrant")
        return 200, {"registrant": settings["whois"]}
    if name == "virtual-servers":
        if method == "GET" and item is None:
            return 200, {"items": list(settings["servers"].values())}
        if method == "POST" and item is None:
            wanted = {r: int(body.get(r, 0)) for r in ("vcpu", "memory_mb", "disk_gb")}
            taken = used(settings)
            if any(taken[r] + wanted[r] > settings["pool"].get(r, 0) for r in wanted):
                return 409, {"error": "insufficient_resources"}
            server = {"id": f"vs-{len(state['answers']) + 1}-{len(settings['servers']) + 1}",
                      "name": body.get("name"), **wanted}
            settings["servers"][server["id"]] = server
            return 201, server
        if method == "DELETE" and item is not None:
            removed = settings["servers"].pop(item, None)
            if removed is None:
                return 404, {"error": "no_such_server"}
            return 200, removed
    return 404, {"error": "no such route"}


def setting(state, method, product_type, rest, query, body):
    """Settings calls below {prefix}/{type}/; a POST or DELETE with a known request_id answers
    again."""
    if method == "DELETE":
        request_id = query.get("request_id", [None])[0]
    else:
        request_id = body.get("request_id") if method == "POST" else None
    if request_id and ("setting", request_id) in state["answers"]:
        return state["answers"][("setting", request_id)]
    if rest[0] == "domains" and rest[1:] == ["check"] and method == "GET":
        name = query.get("name", [""])[0]
        taken = name in state["registered"] or name.split(".")[0].startswith("taken")
        answer = (200, {"name": name, "available": not taken})
    elif rest[0] == "services" and len(rest) >= 3:
        answer = service_setting(state, method, rest[1], rest[2:], query, body)
    else:
        answer = (404, {"error": "no such route"})
    if request_id:
        state["answers"][("setting", request_id)] = answer
    return answer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def page(self, status, text):
        data = f"<!doctype html><title>Control panel</title><p>{html.escape(text)}</p>".encode()
        self.send_response(status)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("cache-control", "no-store")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def host(self):
        """The host and port this call came to (a sign-in link points there)."""
        host = self.headers.get("host") or ""
        if not re.fullmatch(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?", host):
            host = f"127.0.0.1:{self.server.server_address[1]}"
        return host

    def body(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None

    def route(self):
        """(prefix, section, rest): the section is a product type or `control`, after any prefix."""
        parts = urlsplit(self.path).path.rstrip("/").split("/")
        for i, part in enumerate(parts):
            if part in PRODUCT_TYPES + ("control",) and i + 1 < len(parts):
                return "/".join(parts[:i]), part, parts[i + 1:]
        return "", None, []

    def query(self):
        return parse_qs(urlsplit(self.path).query)

    def do_GET(self):
        prefix, section, rest = self.route()
        with LOCK:
            state = panel(prefix)
            if (section, rest) == ("control", ["calls"]):
                return self.answer(200, {"calls": state["calls"]})
            if (section, rest) == ("control", ["concurrency"]):
                return self.answer(200, {"in_flight": state["in_flight"], "max_in_flight": state["max_in_flight"]})
            if section in PRODUCT_TYPES and rest == ["services"]:
                return self.answer(*accounts_page(state, section, self.query()))
            if section in PRODUCT_TYPES and len(rest) == 2 and rest[0] == "login":
                status, session = use_session(state, section, rest[1])
                if status == 200:
                    return self.page(200, f"Signed in to the {section} panel of service {session['service_id']}.")
                if status == 410:
                    return self.page(410, "This sign-in link was used already, or has expired.")
                return self.page(404, "No such sign-in link.")
            if section in PRODUCT_TYPES:
                return self.answer(*setting(state, "GET", section, rest, self.query(), {}))
        return self.answer(404, {"error": "no such route"})

    def do_DELETE(self):
        prefix, section, rest = self.route()
        if section in PRODUCT_TYPES:
            return self.change_setting(prefix, "DELETE", section, rest, {})
        return self.answer(404, {"error": "no such route"})

    def change_setting(self, prefix, method, section, rest, body):
        """A change of a service's settings: made at once, answered after the type's hang."""
        with LOCK:
            state = panel(prefix)
            answer = setting(state, method, section, rest, self.query(), body)
            hang = state["settings_hangs"].get(section, 0)
        time.sleep(hang)
        return self.answer(*answer)

    def do_PUT(self):
        self.do_POST("PUT")

    def do_POST(self, method="POST"):
        prefix, section, rest = self.route()
        body = self.body()
        if not isinstance(body, dict):
            return self.answer(400, {"error": "a JSON object is required"})
        if section in PRODUCT_TYPES and rest == ["operations"] and method == "POST":
            with LOCK:
                state = panel(prefix)
                hang = state["hangs"].get(section, 0)
                state["in_flight"] += 1
                state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            try:
                time.sleep(hang)
                with LOCK:
                    status, answer = operate(state, section, body)
                    state["calls"].append({"product_type": section, "request": body, "status": status})
            finally:
                with LOCK:
                    state["in_flight"] -= 1
            return self.answer(status, answer)
        with LOCK:
            state = panel(prefix)
            if section in PRODUCT_TYPES and method == "PUT" and len(rest) == 2 and rest[0] == "accounts":
                return self.answer(*link_account(state, section, unquote(rest[1]), body))
            if (section in PRODUCT_TYPES and method == "POST" and len(rest) == 3
                    and rest[0] == "services" and rest[2] == "session"):
                return self.answer(*open_session(state, section, unquote(rest[1]), self.host(), prefix))
            if (section, rest) == ("control", ["session"]):
                shape = state["session_shape"]
                shape["seconds"] = float(body.get("seconds", shape["seconds"]))
                shape["scheme"] = str(body.get("scheme", shape["scheme"]))
                return self.answer(200, {"session": shape})
            if (section, rest) == ("control", ["capacity"]):
                state["capacity"].update({t: int(n) for t, n in body.items() if t in PRODUCT_TYPES})
                return self.answer(200, {"capacity": state["capacity"]})
            if (section, rest) == ("control", ["fail"]):
                state["failures"][body.get("product_type")] = {
                    "count": int(body.get("count", 1)),
                    "status": int(body.get("status", 500)),
                    "every": max(1, int(body.get("every", 1))),
                    "operation": body.get("operation"),
                    "seen": 0,
                }
                return self.answer(200, {"failures": state["failures"]})
            if (section, rest) == ("control", ["drift"]):
                return self.answer(*drift(state, body))
            if (section, rest) == ("control", ["accounts"]):
                return self.answer(*seed_accounts(state, body))
            if (section, rest) == ("control", ["orphan"]):
                return self.answer(*orphan(state, body))
            if (section, rest) == ("control", ["hang"]):
                state["hangs"][body.get("product_type")] = float(body.get("seconds", 0))
                state["settings_hangs"][body.get("product_type")] = float(body.get("settings_seconds", 0))
                return self.answer(200, {"hangs": state["hangs"], "settings_hangs": state["settings_hangs"]})
        if section in PRODUCT_TYPES:
            return self.change_setting(prefix, method, section, rest, body)
        return self.answer(404, {"error": "no such route"})


def main():
    global DEFAULT_CAPACITY
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the panel listens on loopback only")
    DEFAULT_CAPACITY = args.capacity
    if args.parent_pid:
        exit_with_parent(args.parent_pid)
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
