package chaperone.authz_test

import data.chaperone.authz

prod := {"name": "orders-prod", "protocol": "postgres", "labels": {"env": "prod"}}

staging := {"name": "orders-staging", "protocol": "postgres", "labels": {"env": "staging"}}

agent := {"subject": "agent:claude", "issuer": "chaperone", "groups": ["agents"], "claims": {}}

migrator := {"subject": "ci:migrate", "issuer": "chaperone", "groups": ["ci", "schema-migrations"], "claims": {}}

writer := {"subject": "agent:ops", "issuer": "chaperone", "groups": ["agents", "db-writers"], "claims": {}}

pii_reader := {"subject": "agent:support", "issuer": "chaperone", "groups": ["agents", "pii-readers"], "claims": {}}

session := {"id": "s-1", "clientAddress": "127.0.0.1:50000", "node": "gw-1"}

stmt(type, tables, has_where) := {"text": "…", "type": type, "tables": tables, "hasWhere": has_where, "functions": []}

pg(conn, who, stmts) := {
	"identity": who,
	"connection": conn,
	"session": session,
	"command": {"protocol": "postgres", "action": "X", "text": "…", "targets": [], "sql": {"statements": stmts}},
}

test_select_allowed_everywhere if {
	d := authz.decision with input as pg(prod, agent, [stmt("SELECT", ["public.orders"], true)])
	d.result == "allow"
	d.reasons == []
	not d.approval
}

test_drop_table_denied_on_prod if {
	d := authz.decision with input as pg(prod, agent, [stmt("DROP TABLE", ["public.orders"], null)])
	d.result == "deny"
	d.reasons == ["DROP TABLE is not allowed on production connections (policy: ddl-in-prod)"]
}

test_truncate_and_alter_denied_on_prod if {
	d := authz.decision with input as pg(prod, agent, [stmt("TRUNCATE", ["a"], null), stmt("ALTER TABLE", ["b"], null)])
	d.result == "deny"
	count(d.reasons) == 2
}

test_production_label_variants if {
	conn := object.union(prod, {"labels": {"env": "production", "team": "x"}})
	d := authz.decision with input as pg(conn, agent, [stmt("DROP INDEX", ["i"], null)])
	d.result == "deny"
}

test_drop_allowed_off_prod if {
	d := authz.decision with input as pg(staging, agent, [stmt("DROP TABLE", ["t"], null)])
	d.result == "allow"
}

test_migrations_group_may_alter_prod if {
	d := authz.decision with input as pg(prod, migrator, [stmt("ALTER TABLE", ["public.orders"], null)])
	d.result == "allow"
}

test_delete_without_where_needs_approval if {
	d := authz.decision with input as pg(staging, agent, [stmt("DELETE", ["public.orders"], false)])
	d.result == "approval"
	d.reasons == ["DELETE on public.orders without a WHERE clause needs approval (policy: unbounded-write)"]
	d.approval == {"approverGroups": ["dba", "sre-oncall"], "quorum": 1, "ttlMs": 900000}
}

test_update_with_where_allowed_for_writers if {
	d := authz.decision with input as pg(prod, writer, [stmt("UPDATE", ["public.orders"], true)])
	d.result == "allow"
	authz.decision.result == "allow" with input as pg(staging, agent, [stmt("UPDATE", ["public.orders"], true)])
}

test_prod_is_read_only_for_agents if {
	d := authz.decision with input as pg(prod, agent, [stmt("UPDATE", ["public.orders"], true)])
	d.result == "deny"
	d.reasons == ["UPDATE is a write; production connections are read-only except for the groups db-writers, schema-migrations, deployers (policy: read-only-prod)"]
}

test_read_only_covers_cte_writes_copy_in_and_code if {
	cte := object.union(stmt("SELECT", ["orders"], true), {"writes": [{"type": "INSERT", "table": "audit", "hasWhere": null}]})
	copy_in := object.union(stmt("COPY", ["orders"], null), {"text": "COPY orders FROM STDIN"})
	every s in [cte, copy_in, stmt("DO", [], null), stmt("CREATE TABLE", ["t"], null), stmt("SELECT INTO", ["t"], null), stmt("GRANT", [], null)] {
		authz.decision.result == "deny" with input as pg(prod, agent, [s])
	}
}

test_reads_stay_allowed_on_prod if {
	copy_out := object.union(stmt("COPY", ["public.customers"], null), {"text": "COPY public.customers (id, email) TO stdout;"})
	psql_copy := object.union(stmt("COPY", ["customers"], null), {"text": "COPY ( SELECT id, email FROM customers ORDER BY id ) TO STDOUT CSV"})
	every s in [copy_out, psql_copy, stmt("LOCK", ["public.customers"], null), stmt("SET", [], null), stmt("BEGIN", [], null), stmt("SHOW", [], null), stmt("EXPLAIN", ["t"], null)] {
		authz.decision.result == "allow" with input as pg(prod, agent, [s])
	}
}

test_delete_in_cte_found_through_writes if {
	s := object.union(stmt("SELECT", ["orders"], false), {"writes": [{"type": "DELETE", "table": "orders", "hasWhere": false}]})
	d := authz.decision with input as pg(staging, agent, [s])
	d.result == "approval"
	d.reasons == ["DELETE on orders without a WHERE clause needs approval (policy: unbounded-write)"]
}

test_writes_field_is_authoritative if {
	# A plain EXPLAIN DELETE plans but does not run the DELETE: the parser reports no writes.
	s := object.union(stmt("DELETE", ["t"], false), {"writes": []})
	d := authz.decision with input as pg(staging, agent, [s])
	d.result == "allow"
}

test_protected_table_write_needs_approval_on_prod if {
	s := object.union(stmt("UPDATE", ["users"], true), {"writes": [{"type": "UPDATE", "table": "users", "hasWhere": true}]})
	d := authz.decision with input as pg(prod, writer, [s])
	d.result == "approval"
	d.reasons == ["UPDATE on protected table public.users needs approval on production connections (policy: protected-table-write)"]
	authz.decision.result == "allow" with input as pg(staging, agent, [s])
}

test_deny_wins_over_approval if {
	d := authz.decision with input as pg(prod, agent, [stmt("DELETE", ["t"], false), stmt("DROP TABLE", ["t"], null)])
	d.result == "deny"
	not d.approval
}

test_unparseable_denied_on_prod if {
	i := pg(prod, agent, [])
	bad := object.union(i, {"command": object.union(i.command, {"sql": {"statements": [], "error": "syntax error at or near \"selec\" (at character 1)"}})})
	d := authz.decision with input as bad
	d.result == "deny"
	d.reasons == ["SQL that cannot be parsed is not allowed on production connections: syntax error at or near \"selec\" (at character 1) (policy: unparseable-in-prod)"]
	authz.decision.result == "allow" with input as object.union(bad, {"connection": staging})
}

test_missing_sql_denied_on_prod if {
	i := pg(prod, agent, [])
	no_sql := object.remove(i.command, ["sql"])
	d := authz.decision with input as object.union(object.remove(i, ["command"]), {"command": no_sql})
	d.result == "deny"
}

test_denied_function if {
	s := object.union(stmt("SELECT", [], false), {"functions": ["pg_catalog.pg_read_file", "now"]})
	d := authz.decision with input as pg(staging, agent, [s])
	d.result == "deny"
	d.reasons == ["calling pg_read_file() is not allowed through the gateway (policy: denied-function)"]
}

test_pg_sleep_is_allowed if {
	s := object.union(stmt("SELECT", [], false), {"functions": ["pg_sleep"]})
	authz.decision.result == "allow" with input as pg(prod, agent, [s])
}

test_other_protocols_allowed if {
	i := {"identity": agent, "connection": {"name": "api", "protocol": "http", "labels": {"env": "prod"}}, "session": session, "command": {"protocol": "http", "action": "GET", "text": "GET /", "targets": ["/"]}}
	d := authz.decision with input as i
	d.result == "allow"
	d.reasons == []
}

test_settings_come_from_data if {
	d := authz.decision with input as pg(prod, writer, [stmt("DROP TABLE", ["t"], null)])
		with data.chaperone.settings.ddl.denied_in_production as ["TRUNCATE"]
	d.result == "allow"
}

test_empty_input_still_decides if {
	authz.decision == {"result": "allow", "reasons": [], "mask": {"detectors": [], "columns": [], "jsonPaths": []}} with input as {}
}

# --- masking ---------------------------------------------------------------------------------

test_pii_masked_for_agents_on_prod if {
	d := authz.decision with input as pg(prod, agent, [stmt("SELECT", ["customers"], true)])
	d.mask == {"detectors": ["email", "card-number", "iban", "phone-number", "national-id"], "columns": ["phone"], "jsonPaths": []}
}

test_pii_readers_and_non_prod_see_pii_but_secrets_stay_masked if {
	# An empty detector list leaves only the secret detectors, which the gateway always runs.
	d := authz.decision with input as pg(prod, pii_reader, [stmt("SELECT", ["public.customers"], true)])
	d.mask.detectors == []
	d.mask.columns == ["phone"]
	authz.decision.mask.detectors == [] with input as pg(staging, agent, [stmt("SELECT", ["customers"], true)])
}

test_sensitive_columns_follow_the_tables_read if {
	d := authz.decision with input as pg(staging, agent, [stmt("SELECT", ["users", "payments"], true)])
	d.mask.columns == ["card_number", "iban", "password_hash", "ssn"]
	authz.decision.mask.columns == [] with input as pg(staging, agent, [stmt("SELECT", ["orders"], true)])
}

test_denied_commands_carry_mask_rules_too if {
	d := authz.decision with input as pg(prod, agent, [stmt("DROP TABLE", ["customers"], null)])
	d.result == "deny"
	d.mask.columns == ["phone"]
}

fastpath(conn, who) := {
	"identity": who,
	"connection": conn,
	"session": session,
	"command": {"protocol": "postgres", "action": "FUNCTION CALL", "text": "FUNCTION CALL 764", "targets": [], "sql": {"statements": []}},
}

test_fastpath_function_calls_denied_on_prod_for_agents if {
	d := authz.decision with input as fastpath(prod, agent)
	d.result == "deny"
	contains(d.reasons[0], "(policy: fastpath-in-prod)")
	authz.decision.result == "allow" with input as fastpath(staging, agent)
}

# Reasons are built with concat: as_text must turn any value into text, so a reason never stops
# its rule from firing.
test_as_text_of_any_value if {
	authz.as_text("DROP TABLE") == "DROP TABLE"
	authz.as_text(5) == "5"
	authz.as_text(null) == "null"
	authz.as_text(["a", 1]) == "[\"a\",1]"
}

test_a_malformed_statement_type_still_gets_its_deny if {
	d := authz.decision with input as {
		"identity": agent,
		"connection": prod,
		"session": session,
		"command": {"protocol": "postgres", "action": "SELECT", "text": "SELECT pg_read_file(1)", "targets": ["t"], "sql": {"statements": [{"text": "SELECT pg_read_file(1)", "type": 42, "tables": ["t"], "hasWhere": false, "functions": ["pg_read_file"], "writes": []}]}},
	}
	d.result == "deny"
}
