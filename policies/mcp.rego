# Rules for MCP servers (connections of kind mcp): each JSON-RPC message the agent sends, and
# each request or notification the server sends the agent, is a command with input.command.mcp =
# {server, direction, method, id, tool, arguments, argsSha256, sessionId, toolInfo}; direction is
# "client" or "server" (the server's params are its arguments). toolInfo (tools/call, and the gateway's tools/changed record) is where the tool
# stands in the registry of pinned definitions, or null when no tools/list answer showed it:
# {status: "pinned"|"changed", pinnedSha256, currentSha256, changedFields, acceptedBy,
# annotations, scan: {suspicious, score, rules}}.
# Same package as authz.rego: these add to its deny and needs_approval sets. A held tool call's
# approval is bound to server + tool + SHA-256 of the canonical arguments + identity.
package chaperone.authz

is_mcp if input.command.protocol == "mcp"

# Session plumbing and listings pass: initialize, ping, every */list, every notification, and
# the agent's answers to server requests ("response").
mcp_plumbing(method) if method in settings.mcp.plumbing_methods

mcp_plumbing(method) if endswith(method, "/list")

mcp_plumbing(method) if startswith(method, "notifications/")

# What the server asks of the agent (command.mcp.direction == "server"): sampling (the agent's
# model answers the server) and elicitation (the agent's user is asked for input).
mcp_server_method(method) if {
	input.command.mcp.direction == "server"
	method in settings.mcp.server_methods
}

deny contains msg if {
	is_mcp
	method := input.command.mcp.method
	not method in settings.mcp.decided_methods
	not mcp_plumbing(method)
	not mcp_server_method(method)
	msg := concat("", ["the MCP method ", as_text(method), " is not allowed through the gateway (policy: mcp-unknown-method)"])
}

# On a production server, the server may not use the agent's model or ask its user unless
# settings.mcp.server_methods_on_production lists the method. The gateway answers a refused
# request to the server with a JSON-RPC error; the agent never sees it. A server request is
# never held for approval (the server waits on it): an approval here refuses it too.
deny contains msg if {
	is_mcp
	production
	method := input.command.mcp.method
	mcp_server_method(method)
	not method in settings.mcp.server_methods_on_production
	msg := concat("", ["the MCP server may not send ", method, " to the agent on a production connection (policy: mcp-server-request)"])
}

# A tool whose name has a destructive word in it: delete_record, dropTable, FILE-REMOVE, hardDelete
# (a word: between non-letters, or starting with a capital after a lower-case letter). The
# contains() guard first: a regex is compiled on every evaluation in Wasm, so only a name that
# has the word in it at all pays for one (the bench's profile: re2 compiling was most of the
# policy's time).
destructive_tool(name) if {
	is_string(name)
	some w in settings.mcp.destructive_words
	contains(lower(name), lower(w))
	regex.match(concat("", ["(^|[^A-Za-z])(?i:", w, ")($|[^a-z])"]), name)
}

destructive_tool(name) if {
	is_string(name)
	some w in settings.mcp.destructive_words
	contains(lower(name), lower(w))
	regex.match(concat("", ["[a-z0-9]", upper(substring(w, 0, 1)), substring(w, 1, -1), "($|[^a-z])"]), name)
}

# Tools no one may call through the gateway (patterns on the name, e.g. a shell): exact, or with
# one leading or trailing `*` (name_matches). Not glob.match: Wasm compiles a glob to a regex on
# every evaluation, and this rule runs for every tools/call and every tool of a tools/list.
deny contains msg if {
	is_mcp
	input.command.mcp.method == "tools/call"
	tool := input.command.mcp.tool
	is_string(tool)
	some pattern in settings.mcp.denied_tools
	name_matches(pattern, tool)
	msg := concat("", ["the tool ", tool, " is not allowed through the gateway (policy: mcp-denied-tool)"])
}

needs_approval contains msg if {
	is_mcp
	production
	input.command.mcp.method == "tools/call"
	tool := input.command.mcp.tool
	destructive_tool(tool)
	msg := concat("", ["the tool ", as_text(tool), " looks destructive by its name; calling it on a production MCP server needs approval (policy: mcp-destructive-tool)"])
}

# A tool whose definition (description, schema, annotations) changed since it was pinned: a
# "rug pull" until an admin accepts the new one (`chaperone mcp tools accept <server> <tool>`).
deny contains msg if {
	is_mcp
	settings.mcp.block_changed_tools
	input.command.mcp.method in {"tools/call", "tools/changed"}
	info := input.command.mcp.toolInfo
	info.status == "changed"
	msg := concat("", [
		"the tool ", as_text(input.command.mcp.tool), " changed since it was pinned (", concat(", ", info.changedFields),
		"); it is blocked until an admin accepts it: chaperone mcp tools accept ", as_text(input.command.mcp.server), " ",
		as_text(input.command.mcp.tool), " (policy: mcp-tool-changed)",
	])
}

# The server says the tool is destructive (annotations are hints from the server: a server that
# lies is caught by pinning, not here).
needs_approval contains msg if {
	is_mcp
	production
	input.command.mcp.method == "tools/call"
	input.command.mcp.toolInfo.annotations.destructiveHint == true
	not input.command.mcp.toolInfo.annotations.readOnlyHint == true
	msg := concat("", ["the tool ", as_text(input.command.mcp.tool), " is annotated destructiveHint; calling it on a production MCP server needs approval (policy: mcp-destructive-hint)"])
}

# A description with instructions aimed at the model (the gateway's scan, scan.ts in
# @chaperone/mcp-tools): settings.mcp.suspicious_descriptions says what follows: "allow"
# (only recorded in the decision's input), "approval" or "deny".
suspicious_tool_msg := concat("", [
	"the description of the tool ", as_text(input.command.mcp.tool), " has instructions aimed at the model (",
	concat(", ", input.command.mcp.toolInfo.scan.rules), ") (policy: mcp-suspicious-description)",
])

suspicious_tool if {
	is_mcp
	input.command.mcp.method == "tools/call"
	input.command.mcp.toolInfo.scan.suspicious == true
}

deny contains suspicious_tool_msg if {
	suspicious_tool
	settings.mcp.suspicious_descriptions == "deny"
}

needs_approval contains suspicious_tool_msg if {
	suspicious_tool
	settings.mcp.suspicious_descriptions == "approval"
}
