# Chaperone default policy pack: the decision for one client command.
#
# Input and output contract: see README.md. Tunables (what counts as production, who may write
# there, approver groups, protected tables and branches, denied functions, what to mask) live in
# data.json under data.chaperone.settings, so a security team changes them without touching
# rules. Git, OCI, Kubernetes and HTTP rules are in protocols.rego.
#
# Every reason ends with "(policy: <id>)" so a denied agent, the audit log and the SOC can tell
# which rule fired.
package chaperone.authz

settings := data.chaperone.settings

# --- what the command is -----------------------------------------------------------------

is_postgres if input.command.protocol == "postgres"

# A connection is production when any configured label matches (env=prod, env=production).
production if {
	some key, values in settings.production.labels
	input.connection.labels[key] in values
}

statements := object.get(input.command, ["sql", "statements"], [])

# First word of a statement type: "DROP TABLE" -> "DROP".
verb(stmt) := split(stmt.type, " ")[0]

# The parser reports every data-modifying operation (including those in CTEs) as `writes`;
# a producer that only sends the top-level statement still gets its DELETE/UPDATE checked.
writes_of(stmt) := stmt.writes if {
	is_array(stmt.writes)
} else := [{"type": stmt.type, "table": object.get(stmt, ["tables", 0], "(unknown table)"), "hasWhere": object.get(stmt, "hasWhere", null)}] if {
	stmt.type in {"INSERT", "UPDATE", "DELETE", "MERGE"}
} else := []

# Unqualified names resolve through search_path; the pack assumes the default schema.
qualified(table) := table if contains(table, ".")

else := concat(".", [settings.writes.default_schema, table])

# Patterns for branch and namespace names: exact, or with one leading or trailing `*`
# ("release/*", "*-prod"). Plain string tests, not glob.match: cheaper per decision.
name_matches(pattern, name) if pattern == name

name_matches(pattern, name) if {
	endswith(pattern, "*")
	startswith(name, trim_suffix(pattern, "*"))
}

name_matches(pattern, name) if {
	startswith(pattern, "*")
	endswith(name, trim_prefix(pattern, "*"))
}

# A value as it appears in a reason: strings as they are, anything else as JSON. Reasons are
# built with concat, native in Wasm; sprintf would call out to JavaScript once per reason
# (~1 µs each). Never undefined, so a reason can never be what stops a rule from firing.
as_text(x) := x if is_string(x)

else := json.marshal(x)

in_group(groups) if {
	some g in input.identity.groups
	g in groups
}

writer if in_group(settings.production.writer_groups)

# COPY … TO STDOUT (psql \copy out, pg_dump) reads; COPY … FROM writes.
reads_only(stmt) if {
	stmt.type == "COPY"
	regex.match(`(?is)\bTO\s+(STDOUT|'|PROGRAM\b)`, stmt.text)
}

# Statements that change data, schema, permissions or run code on the server.
sql_write(stmt) if count(object.get(stmt, "writes", [])) > 0

sql_write(stmt) if verb(stmt) in settings.production.write_verbs

sql_write(stmt) if stmt.type == "SELECT INTO"

sql_write(stmt) if {
	stmt.type == "COPY"
	not reads_only(stmt)
}

# --- rules that deny -----------------------------------------------------------------------

# Read-only by default: on production connections only writer groups may change anything.
# DROP/TRUNCATE/ALTER have their own rule (ddl-in-prod) and are not reported twice.
deny contains msg if {
	is_postgres
	production
	not writer
	some stmt in statements
	sql_write(stmt)
	not verb(stmt) in settings.ddl.denied_in_production
	msg := concat("", [as_text(stmt.type), " is a write; production connections are read-only except for the groups ", concat(", ", settings.production.writer_groups), " (policy: read-only-prod)"])
}

deny contains msg if {
	is_postgres
	production
	not in_group(settings.ddl.exempt_groups)
	some stmt in statements
	verb(stmt) in settings.ddl.denied_in_production
	msg := concat("", [as_text(stmt.type), " is not allowed on production connections (policy: ddl-in-prod)"])
}

deny contains msg if {
	is_postgres
	production
	settings.unparseable.deny_in_production
	err := input.command.sql.error
	msg := concat("", ["SQL that cannot be parsed is not allowed on production connections: ", as_text(err), " (policy: unparseable-in-prod)"])
}

# Fail closed when a producer forgot to attach the parsed SQL on production.
deny contains "the command carries no parsed SQL, refused on production connections (policy: unparseable-in-prod)" if {
	is_postgres
	production
	not input.command.sql
}

deny contains msg if {
	is_postgres
	some stmt in statements
	some fn in stmt.functions
	name := trim_prefix(fn, "pg_catalog.")
	name in settings.functions.denied
	msg := concat("", ["calling ", as_text(name), "() is not allowed through the gateway (policy: denied-function)"])
}

# A fastpath FunctionCall (libpq's large-object API) names its function only by OID, so the
# gateway cannot tell a read from a write: on production only writer groups may use it.
deny contains msg if {
	is_postgres
	production
	not writer
	input.command.action == "FUNCTION CALL"
	msg := concat("", ["fastpath function calls are not allowed on production connections except for the groups ", concat(", ", settings.production.writer_groups), " (policy: fastpath-in-prod)"])
}

# --- rules that hold for approval ----------------------------------------------------------

needs_approval contains msg if {
	is_postgres
	some stmt in statements
	some w in writes_of(stmt)
	w.type in settings.writes.unbounded_need_approval
	w.hasWhere == false
	msg := concat("", [as_text(w.type), " on ", as_text(w.table), " without a WHERE clause needs approval (policy: unbounded-write)"])
}

needs_approval contains msg if {
	is_postgres
	production
	some stmt in statements
	some w in writes_of(stmt)
	qualified(w.table) in settings.writes.protected_tables
	msg := concat("", [as_text(w.type), " on protected table ", qualified(w.table), " needs approval on production connections (policy: protected-table-write)"])
}

approval_requirement := {
	"approverGroups": settings.approval.approver_groups,
	"quorum": settings.approval.quorum,
	"ttlMs": settings.approval.ttl_ms,
}

# --- masking (secrets are always masked: the gateway runs every secret detector regardless) ---

# PII detectors run on production connections, except for the groups allowed to see PII.
mask_detectors := settings.masking.pii_detectors if {
	production
	not in_group(settings.masking.pii_exempt_groups)
} else := []

# Sensitive columns of the tables a statement reads, by result column name.
mask_columns contains col if {
	some stmt in statements
	some table in stmt.tables
	some col in object.get(settings.masking.columns, qualified(table), [])
}

# JSON paths apply to the HTTP-borne protocols' response bodies.
mask_json_paths contains path if {
	input.command.protocol != "postgres"
	some path in settings.masking.json_paths
}

mask := {
	"detectors": mask_detectors,
	"columns": sort(mask_columns),
	"jsonPaths": sort(mask_json_paths),
}

# --- the decision (entrypoint chaperone/authz/decision) ---------------------------------------

# Built in one piece (no object.union): the decision is evaluated for every command.
decision := {"result": "deny", "reasons": sort(deny), "mask": mask} if {
	count(deny) > 0
} else := {"result": "approval", "reasons": sort(needs_approval), "approval": approval_requirement, "mask": mask} if {
	count(needs_approval) > 0
} else := {"result": "allow", "reasons": [], "mask": mask}
