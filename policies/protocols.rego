# Rules for the HTTP-borne protocols: git smart HTTP, OCI registries, the Kubernetes API and
# plain HTTP. Same package as authz.rego: these add to its deny and needs_approval sets, and the
# decision there combines them. Input per protocol: see README.md ("Protocol details").
package chaperone.authz

git_updates := object.get(input.command, ["git", "updates"], [])

protected_branch(u) if {
	u.refKind == "branch"
	some pattern in settings.git.protected_branches
	name_matches(pattern, u.name)
}

# --- writes on production connections (read-only by default, as for SQL) -------------------

http_write if {
	input.command.protocol == "http"
	not upper(object.get(input.command, ["http", "method"], "GET")) in {"GET", "HEAD", "OPTIONS"}
}

git_write if input.command.action == "git.push"

oci_write if {
	input.command.protocol == "oci"
	some prefix in ["manifest.push", "manifest.delete", "blob.upload", "blob.delete", "blob.mount"]
	startswith(object.get(input.command, ["oci", "op"], ""), prefix)
}

k8s_write if {
	input.command.protocol == "k8s"
	input.command.k8s.verb in {"create", "update", "patch", "delete", "deletecollection"}
}

k8s_write if {
	input.command.protocol == "k8s"
	input.command.k8s.subresource in settings.k8s.approval_subresources
}

protocol_write if http_write

protocol_write if git_write

protocol_write if oci_write

protocol_write if k8s_write

deny contains msg if {
	not is_postgres # SQL writes have their own rule; checked first, it is the cheapest test
	production
	not writer
	protocol_write
	msg := concat("", [as_text(input.command.action), " is a write; production connections are read-only except for the groups ", concat(", ", settings.production.writer_groups), " (policy: read-only-prod)"])
}

# --- git -------------------------------------------------------------------------------------

# force is true when the pushed history does not contain the old tip, null when the gateway
# could not tell; both are refused on protected branches.
deny contains msg if {
	some u in git_updates
	protected_branch(u)
	u.force != false
	not u.delete
	msg := concat("", ["force-pushing ", as_text(u.ref), " (protected branch) is not allowed (policy: git-force-push)"])
}

deny contains msg if {
	some u in git_updates
	protected_branch(u)
	u.delete
	msg := concat("", ["deleting ", as_text(u.ref), " (protected branch) is not allowed (policy: git-protected-delete)"])
}

needs_approval contains msg if {
	some u in git_updates
	protected_branch(u)
	u.force == false
	not u.delete
	msg := concat("", ["pushing to ", as_text(u.ref), " (protected branch) needs approval (policy: git-protected-push)"])
}

# --- OCI registries --------------------------------------------------------------------------

oci_tag_push if {
	input.command.protocol == "oci"
	input.command.oci.op == "manifest.push"
	is_string(input.command.oci.tag)
	not input.command.oci.tag in settings.oci.mutable_tags
}

deny contains msg if {
	oci_tag_push
	input.command.oci.overwrite == true
	msg := concat("", ["overwriting the existing tag ", as_text(input.command.oci.repository), ":", as_text(input.command.oci.tag), " is not allowed; push a new tag (policy: oci-tag-overwrite)"])
}

# The gateway asks the registry what the tag points to; when the registry would not say, a
# human decides instead of letting a possible overwrite through.
needs_approval contains msg if {
	oci_tag_push
	input.command.oci.overwrite == null
	msg := concat("", ["could not tell whether ", as_text(input.command.oci.repository), ":", as_text(input.command.oci.tag), " already exists; pushing it needs approval (policy: oci-tag-overwrite)"])
}

# --- Kubernetes ------------------------------------------------------------------------------

# A namespace is production on a production cluster connection, or when it matches one of
# the configured namespace patterns (prod, *-prod, …) on any cluster.
production_namespace if {
	input.command.protocol == "k8s"
	production
}

production_namespace if {
	input.command.protocol == "k8s"
	some pattern in settings.k8s.production_namespaces
	name_matches(pattern, input.command.k8s.namespace)
}

needs_approval contains msg if {
	production_namespace
	input.command.k8s.verb in settings.k8s.approval_verbs
	msg := concat("", [as_text(input.command.k8s.verb), " of ", as_text(k8s_object), " in production namespace ", as_text(input.command.k8s.namespace), " needs approval (policy: k8s-prod-change)"])
}

needs_approval contains msg if {
	production_namespace
	input.command.k8s.subresource in settings.k8s.approval_subresources
	msg := concat("", [as_text(input.command.k8s.subresource), " into ", as_text(k8s_object), " in production namespace ", as_text(input.command.k8s.namespace), " needs approval (policy: k8s-prod-change)"])
}

k8s_object := concat("/", [r, n]) if {
	r := input.command.k8s.resource
	n := input.command.k8s.name
	n != ""
} else := input.command.k8s.resource
