{{/* Egress to DNS and the given peers (NetworkPolicyPeer objects with optional ports). */}}
{{- define "chaperone.egressRules" -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels: { k8s-app: kube-dns }
  ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
{{- range .peers }}
- to:
    - {{ omit . "ports" | toJson }}
  {{- with .ports }}
  ports:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}
