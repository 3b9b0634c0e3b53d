package chaperone.authz_test

import data.chaperone.authz

mcp_prod := {"name": "mcp", "protocol": "http", "labels": {"env": "prod"}}

mcp_dev := {"name": "mcp-dev", "protocol": "http", "labels": {"env": "dev"}}

mcp_agent := {"subject": "agent:test", "issuer": "chaperone", "groups": ["agents", "deployers"], "claims": {}}

mcp_input(conn, method, tool) := {"identity": mcp_agent, "connection": conn, "session": session, "command": {
	"protocol": "mcp", "action": method, "text": method, "targets": [],
	"mcp": {"server": conn.name, "method": method, "id": 1, "tool": tool, "arguments": {}, "argsSha256": "", "sessionId": null},
}}

test_mcp_plumbing_allowed if {
	every method in ["initialize", "ping", "tools/list", "resources/templates/list", "notifications/initialized", "notifications/cancelled", "response"] {
		d := authz.decision with input as mcp_input(mcp_prod, method, null)
		d.result == "allow"
	}
}

test_mcp_unknown_method_denied if {
	d := authz.decision with input as mcp_input(mcp_dev, "sampling/createMessage", null)
	d.result == "deny"
	d.reasons == ["the MCP method sampling/createMessage is not allowed through the gateway (policy: mcp-unknown-method)"]
}

mcp_server_input(conn, method) := json.patch(mcp_input(conn, method, null), [{"op": "add", "path": "/command/mcp/direction", "value": "server"}])

test_mcp_server_requests_denied_on_prod if {
	every method in ["sampling/createMessage", "elicitation/create"] {
		d := authz.decision with input as mcp_server_input(mcp_prod, method)
		d.result == "deny"
		d.reasons == [concat("", ["the MCP server may not send ", method, " to the agent on a production connection (policy: mcp-server-request)"])]
	}
}

test_mcp_server_requests_allowed_elsewhere_and_when_listed if {
	every method in ["sampling/createMessage", "elicitation/create", "roots/list", "ping", "notifications/progress", "notifications/message"] {
		d := authz.decision with input as mcp_server_input(mcp_dev, method)
		d.result == "allow"
	}
	d := authz.decision with input as mcp_server_input(mcp_prod, "elicitation/create")
		with data.chaperone.settings.mcp.server_methods_on_production as ["elicitation/create"]
	d.result == "allow"
	n := authz.decision with input as mcp_server_input(mcp_prod, "notifications/progress")
	n.result == "allow"
}

test_mcp_session_delete_allowed if {
	d := authz.decision with input as mcp_input(mcp_prod, "session/delete", null)
	d.result == "allow"
}

test_mcp_read_only_tools_allowed_on_prod if {
	every tool in ["read_file", "echo", "list_records", "dropbox_search", "getRecord", "overwriteable_list"] {
		d := authz.decision with input as mcp_input(mcp_prod, "tools/call", tool)
		d.result == "allow"
	}
}

test_mcp_destructive_tools_held_for_approval_on_prod if {
	every tool in ["delete_record", "dropTable", "FILE-REMOVE", "hardDelete", "write_file", "purge"] {
		d := authz.decision with input as mcp_input(mcp_prod, "tools/call", tool)
		d.result == "approval"
		d.reasons == [concat("", ["the tool ", tool, " looks destructive by its name; calling it on a production MCP server needs approval (policy: mcp-destructive-tool)"])]
		d.approval == {"approverGroups": ["dba", "sre-oncall"], "quorum": 1, "ttlMs": 900000}
	}
}

test_mcp_destructive_tools_allowed_on_dev if {
	d := authz.decision with input as mcp_input(mcp_dev, "tools/call", "delete_record")
	d.result == "allow"
}

test_mcp_resources_and_prompts_decided if {
	d1 := authz.decision with input as mcp_input(mcp_prod, "resources/read", "file:///etc/hosts")
	d1.result == "allow"
	d2 := authz.decision with input as mcp_input(mcp_prod, "prompts/get", "summary")
	d2.result == "allow"
}

test_mcp_denied_tools_denied_everywhere if {
	every tool in ["run_shell", "bash_shell", "shell_exec"] {
		every conn in [mcp_prod, mcp_dev] {
			d := authz.decision with input as mcp_input(conn, "tools/call", tool)
			d.result == "deny"
			d.reasons == [concat("", ["the tool ", tool, " is not allowed through the gateway (policy: mcp-denied-tool)"])]
		}
	}
}

test_mcp_denied_tool_wins_over_approval if {
	d := authz.decision with input as mcp_input(mcp_prod, "tools/call", "delete_shell")
	d.result == "deny"
}

mcp_call_with(conn, tool, info) := {"identity": mcp_agent, "connection": conn, "session": session, "command": {
	"protocol": "mcp", "action": "tools/call", "text": "tools/call", "targets": [tool],
	"mcp": {"server": conn.name, "method": "tools/call", "id": 1, "tool": tool, "arguments": {}, "argsSha256": "", "sessionId": null, "toolInfo": info},
}}

clean_scan := {"suspicious": false, "score": 0, "rules": []}

test_mcp_changed_tool_blocked_until_accepted if {
	info := {"status": "changed", "changedFields": ["description"], "annotations": {}, "scan": clean_scan}
	d := authz.decision with input as mcp_call_with(mcp_dev, "weather", info)
	d.result == "deny"
	d.reasons == ["the tool weather changed since it was pinned (description); it is blocked until an admin accepts it: chaperone mcp tools accept mcp-dev weather (policy: mcp-tool-changed)"]
	pinned := authz.decision with input as mcp_call_with(mcp_dev, "weather", object.union(info, {"status": "pinned"}))
	pinned.result == "allow"
	unblocked := authz.decision with input as mcp_call_with(mcp_dev, "weather", info) with data.chaperone.settings.mcp.block_changed_tools as false
	unblocked.result == "allow"
}

test_mcp_destructive_hint_held_on_prod if {
	info := {"status": "pinned", "changedFields": [], "annotations": {"destructiveHint": true}, "scan": clean_scan}
	d := authz.decision with input as mcp_call_with(mcp_prod, "archive", info)
	d.result == "approval"
	d.reasons == ["the tool archive is annotated destructiveHint; calling it on a production MCP server needs approval (policy: mcp-destructive-hint)"]
	dev := authz.decision with input as mcp_call_with(mcp_dev, "archive", info)
	dev.result == "allow"
	ro := authz.decision with input as mcp_call_with(mcp_prod, "archive", object.union(info, {"annotations": {"destructiveHint": true, "readOnlyHint": true}}))
	ro.result == "allow"
}

test_mcp_suspicious_description_per_setting if {
	info := {"status": "pinned", "changedFields": [], "annotations": {}, "scan": {"suspicious": true, "score": 6, "rules": ["concealment", "hidden-markup"]}}
	msg := "the description of the tool add has instructions aimed at the model (concealment, hidden-markup) (policy: mcp-suspicious-description)"
	held := authz.decision with input as mcp_call_with(mcp_dev, "add", info)
	held.result == "approval"
	held.reasons == [msg]
	denied := authz.decision with input as mcp_call_with(mcp_dev, "add", info) with data.chaperone.settings.mcp.suspicious_descriptions as "deny"
	denied.result == "deny"
	allowed := authz.decision with input as mcp_call_with(mcp_dev, "add", info) with data.chaperone.settings.mcp.suspicious_descriptions as "allow"
	allowed.result == "allow"
}
