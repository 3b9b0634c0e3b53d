"""Cancels a running statement with psycopg's cancel_safe() (libpq >= 17: PQcancelCreate, an
encrypted CancelRequest on a new TLS connection). Prints one JSON line: what the query got and
what the cancel call got. Usage: python psycopg_cancel.py <conninfo>   (password in PGPASSWORD)"""
import json
import sys
import threading
import time

import psycopg

conn = psycopg.connect(sys.argv[1], autocommit=True)
result = {"libpq": psycopg.pq.version()}


def run():
    try:
        conn.execute("SELECT pg_sleep(20)")
        result["query"] = "not cancelled"
    except psycopg.errors.QueryCanceled:
        result["query"] = "cancelled"
    except Exception as e:  # noqa: BLE001 - reported, the test decides
        result["query"] = f"{type(e).__name__}: {e}"


t = threading.Thread(target=run)
t.start()
time.sleep(1.5)
try:
    conn.cancel_safe(timeout=10)
    result["cancel"] = "ok"
except Exception as e:  # noqa: BLE001
    result["cancel"] = f"{type(e).__name__}: {e}"
t.join(30)
result["after"] = conn.execute("SELECT 'still here'").fetchone()[0]
print(json.dumps(result))
