"""Runs statements in psycopg's pipeline mode (libpq pipeline: every statement is sent before any
result is read, one Sync at the end); the third fails, so the server skips the fourth. Prints one
JSON line: what each statement got, in order. Usage: python psycopg_pipeline.py <conninfo> <marker>
(password in PGPASSWORD)"""
import json
import sys

import psycopg

marker = sys.argv[2]
statements = [
    f"SELECT 'first-{marker}' AS a",
    f"SELECT 'second-{marker}-' || g AS b FROM generate_series(1, 3) g",
    f"SELECT 1 / 0 AS third_{marker}",
    f"SELECT 'fourth-{marker}' AS d",
]
conn = psycopg.connect(sys.argv[1], autocommit=True)
cursors = []
pipeline_error = None
try:
    with conn.pipeline():
        for sql in statements:
            cur = conn.cursor()
            cur.execute(sql)
            cursors.append(cur)
except psycopg.Error as e:
    pipeline_error = type(e).__name__
results = []
for sql, cur in zip(statements, cursors):
    try:
        results.append({"rows": [r[0] for r in cur.fetchall()]})
    except psycopg.Error as e:
        results.append({"error": type(e).__name__})
print(json.dumps({"libpq": psycopg.pq.version(), "pipelineError": pipeline_error, "results": results}))
