package chaperone.authz_test

import data.chaperone.authz

cluster_prod := {"name": "k8s-prod", "protocol": "http", "labels": {"env": "prod"}}

cluster_dev := {"name": "k8s-dev", "protocol": "http", "labels": {"env": "dev"}}

forge := {"name": "git", "protocol": "http", "labels": {"env": "dev"}}

forge_prod := {"name": "git-prod", "protocol": "http", "labels": {"env": "prod"}}

deployer := {"subject": "ci:deploy", "issuer": "chaperone", "groups": ["ci", "deployers"], "claims": {"repository": "acme/shop"}}

http_input(conn, who, command) := {"identity": who, "connection": conn, "session": session, "command": command}

push(updates) := {"protocol": "git", "action": "git.push", "text": "POST /acme/shop.git/git-receive-pack", "targets": ["acme/shop"], "git": {"repo": "acme/shop", "op": "rpc", "service": "receive-pack", "updates": updates}}

update(ref, force) := {"ref": ref, "name": trim_prefix(ref, "refs/heads/"), "refKind": "branch", "old": "a1", "new": "b2", "type": "update", "force": force, "delete": false}

delete_ref(ref) := {"ref": ref, "name": trim_prefix(ref, "refs/heads/"), "refKind": "branch", "old": "a1", "new": "0000", "type": "delete", "force": false, "delete": true}

# --- git ---------------------------------------------------------------------------------------

test_force_push_to_main_denied if {
	d := authz.decision with input as http_input(forge, agent, push([update("refs/heads/main", true)]))
	d.result == "deny"
	d.reasons == ["force-pushing refs/heads/main (protected branch) is not allowed (policy: git-force-push)"]
}

test_force_unknown_on_protected_branch_denied if {
	d := authz.decision with input as http_input(forge, agent, push([update("refs/heads/release/2.1", null)]))
	d.result == "deny"
}

test_deleting_protected_branch_denied if {
	d := authz.decision with input as http_input(forge, agent, push([delete_ref("refs/heads/master")]))
	d.reasons == ["deleting refs/heads/master (protected branch) is not allowed (policy: git-protected-delete)"]
}

test_push_to_protected_branch_needs_approval if {
	d := authz.decision with input as http_input(forge, agent, push([update("refs/heads/main", false)]))
	d.result == "approval"
	d.reasons == ["pushing to refs/heads/main (protected branch) needs approval (policy: git-protected-push)"]
	d.approval.approverGroups == ["dba", "sre-oncall"]
}

test_feature_branches_are_free if {
	d := authz.decision with input as http_input(forge, agent, push([update("refs/heads/feature/x", true), delete_ref("refs/heads/old")]))
	d.result == "allow"
}

test_git_push_to_prod_forge_needs_a_writer if {
	authz.decision.result == "deny" with input as http_input(forge_prod, agent, push([update("refs/heads/feature/x", false)]))
	authz.decision.result == "allow" with input as http_input(forge_prod, deployer, push([update("refs/heads/feature/x", false)]))
	fetch := {"protocol": "git", "action": "git.fetch", "text": "POST", "targets": ["acme/shop"], "git": {"repo": "acme/shop"}}
	authz.decision.result == "allow" with input as http_input(forge_prod, agent, fetch)
}

# --- OCI ---------------------------------------------------------------------------------------

manifest_push(tag, overwrite) := {"protocol": "oci", "action": "oci.manifest.push", "text": "PUT", "targets": [], "oci": {"repository": "acme/shop", "op": "manifest.push", "tag": tag, "digest": "sha256:aa", "overwrite": overwrite}}

test_overwriting_an_image_tag_denied if {
	d := authz.decision with input as http_input(forge, agent, manifest_push("v1.2.3", true))
	d.result == "deny"
	d.reasons == ["overwriting the existing tag acme/shop:v1.2.3 is not allowed; push a new tag (policy: oci-tag-overwrite)"]
}

test_new_tags_and_digest_pushes_allowed if {
	authz.decision.result == "allow" with input as http_input(forge, agent, manifest_push("v1.2.4", false))
	authz.decision.result == "allow" with input as http_input(forge, agent, manifest_push(null, false))
}

test_unknown_overwrite_needs_approval if {
	authz.decision.result == "approval" with input as http_input(forge, agent, manifest_push("v1", null))
}

test_mutable_tags_come_from_data if {
	authz.decision.result == "allow" with input as http_input(forge, agent, manifest_push("latest", true))
		with data.chaperone.settings.oci.mutable_tags as ["latest"]
}

# --- Kubernetes ----------------------------------------------------------------------------------

k8s(verb, namespace, subresource) := {"protocol": "k8s", "action": concat(".", ["k8s", verb]), "text": "…", "targets": [], "k8s": {"verb": verb, "group": "", "version": "v1", "resource": "pods", "namespace": namespace, "name": "web-1", "subresource": subresource}}

test_k8s_delete_and_exec_in_prod_need_approval if {
	d := authz.decision with input as http_input(cluster_prod, deployer, k8s("delete", "shop", ""))
	d.result == "approval"
	d.reasons == ["delete of pods/web-1 in production namespace shop needs approval (policy: k8s-prod-change)"]
	e := authz.decision with input as http_input(cluster_dev, agent, k8s("create", "payments-prod", "exec"))
	e.result == "approval"
	e.reasons == ["exec into pods/web-1 in production namespace payments-prod needs approval (policy: k8s-prod-change)"]
}

test_k8s_agents_read_only_on_prod_clusters if {
	d := authz.decision with input as http_input(cluster_prod, agent, k8s("delete", "shop", ""))
	d.result == "deny"
	authz.decision.result == "allow" with input as http_input(cluster_prod, agent, k8s("get", "shop", "log"))
}

test_k8s_dev_namespaces_are_free if {
	authz.decision.result == "allow" with input as http_input(cluster_dev, agent, k8s("delete", "shop-dev", ""))
	authz.decision.result == "allow" with input as http_input(cluster_dev, agent, k8s("create", "default", "exec"))
}

# --- plain HTTP --------------------------------------------------------------------------------

api(method) := {"protocol": "http", "action": method, "text": concat(" ", [method, "/v1/orders"]), "targets": ["/v1/orders"], "http": {"method": method, "path": "/v1/orders", "query": {}, "contentType": "application/json"}}

test_http_prod_is_read_only_for_agents if {
	authz.decision.result == "deny" with input as http_input(cluster_prod, agent, api("POST"))
	authz.decision.result == "allow" with input as http_input(cluster_prod, agent, api("GET"))
	authz.decision.result == "allow" with input as http_input(cluster_prod, deployer, api("POST"))
	authz.decision.result == "allow" with input as http_input(cluster_dev, agent, api("DELETE"))
}

test_http_responses_get_json_path_rules if {
	d := authz.decision with input as http_input(cluster_prod, agent, api("GET"))
	d.mask.jsonPaths == ["$..client_secret", "$..password", "$..ssn"]
	d.mask.detectors == ["email", "card-number", "iban", "phone-number", "national-id"]
}
