"""The reference for bench/digest_fanout.py: the digest script a team writes today.

One user after another: fetch the same data as a Switchboard digest with the official SDKs
(dataikuapi, mstrio-py Connection, im-squonk2-client Auth/DmApi; plain `requests` for Astakos
and Atoti Limits, which have no usable official SDK), then post one message to the user's DM
with slack_sdk's WebClient. No concurrency, no caching between users (each user's own
credentials: a new Strategy One session and a new Keycloak token per user).

    python -m bench._sequential CONFIG.json     # prints one JSON line: users done, seconds

CONFIG holds the instance URLs, the demo credentials, the Slack API URL and token, the user
ids, and a time limit after which the loop stops (the caller extrapolates from the rate).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import requests
from dataikuapi import DSSClient
from mstrio.connection import Connection
from mstrio.server.project import list_projects
from slack_sdk import WebClient
from squonk2.auth import Auth
from squonk2.dm_api import DmApi

INCIDENT_KINDS = ["Breach", "Warning"]


def dss_part(cfg: dict[str, Any]) -> str:
    client = DSSClient(cfg["url"], cfg["api_key"])
    running = client.list_futures()
    failed = 0
    for key in client.list_project_keys():
        for scenario in client.get_project(key).list_scenarios(as_type="objects"):
            failed += sum(
                1
                for r in scenario.get_last_runs(limit=5)
                if (r.run.get("result") or {}).get("outcome") == "FAILED"
            )
    return f"DSS: {len(running)} running, {failed} failed runs"


def mstr_part(cfg: dict[str, Any]) -> str:
    conn = Connection(
        cfg["url"] + "/MicroStrategyLibrary/api",
        cfg["username"],
        cfg["password"],
        login_mode=int(cfg["mode"]),
        verbose=False,
    )
    try:
        projects = list_projects(conn)
    finally:
        conn.close()
    return f"Strategy One: {len(projects)} projects"


def squonk_part(cfg: dict[str, Any]) -> str:
    DmApi.set_api_url(cfg["url"], verify_ssl_cert=False)
    token = Auth.get_access_token(
        keycloak_url=cfg["keycloak_url"],
        keycloak_realm=cfg["realm"],
        keycloak_client_id=cfg["client_id"],
        username=cfg["username"],
        password=cfg["password"],
    )
    instances = DmApi.get_available_instances(token).msg.get("instances", [])
    projects = DmApi.get_available_projects(token).msg.get("projects", [])
    return f"Squonk2: {len(instances)} instances, {len(projects)} projects"


def astakos_part(cfg: dict[str, Any], http: requests.Session) -> str:
    headers = {"X-Auth-Token": cfg["token"]}
    base = cfg["url"] + "/account/v1.0"
    serials = http.get(f"{base}/commissions", headers=headers, timeout=30).json()
    details = [
        http.get(f"{base}/commissions/{s}", headers=headers, timeout=30).json() for s in serials
    ]
    uuids = sorted({str(d.get("issuer") or "") for d in details} - {""})
    http.post(
        f"{base}/service/user_catalogs",
        headers=headers,
        timeout=30,
        json={"uuids": uuids, "displaynames": []},
    )
    return f"Astakos: {len(details)} pending commissions"


def limits_part(cfg: dict[str, Any], http: requests.Session) -> str:
    auth = (cfg["username"], cfg["password"])
    rest = cfg["url"] + "/limits/rest/v2"
    structures = http.post(
        f"{rest}/limitDefinition/inventory-structures/filter", json={}, auth=auth, timeout=30
    ).json()
    for s in structures[:4]:  # thresholds of each structure, for the pending limits
        http.get(
            f"{rest}/limitDefinition/structure/get/{s['structureId']}",
            auth=auth,
            params={"isLiveOnly": "false"},
            timeout=30,
        )
    dates = sorted(http.get(f"{rest}/incidents/as-of-dates", auth=auth, timeout=30).json())
    breaches: list[Any] = []
    if dates:
        body = {
            "incidentConditions": [
                {"fieldName": "As Of Date", "possibleValues": [dates[-1]]},
                {"fieldName": "Incident Type", "possibleValues": INCIDENT_KINDS},
            ]
        }
        page = http.post(
            f"{rest}/incidents/filter-with-variables", json=body, auth=auth, timeout=30
        ).json()
        breaches = page.get("incidents", []) if isinstance(page, dict) else page
    return f"Atoti Limits: {len(breaches)} breaches and warnings"


def main(path: str) -> None:
    cfg = json.loads(open(path).read())
    slack = WebClient(token=cfg["slack_token"], base_url=cfg["slack_url"])
    http = requests.Session()
    deadline = time.monotonic() + float(cfg["time_limit"])
    started = time.monotonic()
    done = 0
    for user in cfg["users"]:
        lines = [
            dss_part(cfg["dss"]),
            mstr_part(cfg["mstr"]),
            squonk_part(cfg["squonk"]),
            astakos_part(cfg["astakos"], http),
            limits_part(cfg["limits"], http),
        ]
        channel = slack.conversations_open(users=user)["channel"]["id"]
        slack.chat_postMessage(channel=channel, text="Daily digest\n" + "\n".join(lines))
        done += 1
        if time.monotonic() > deadline:
            break
    print(json.dumps({"users": done, "seconds": time.monotonic() - started}))


if __name__ == "__main__":
    main(sys.argv[1])
