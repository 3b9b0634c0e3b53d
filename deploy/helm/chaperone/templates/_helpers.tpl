{{/* Names, labels and the rendered chaperone.yaml. */}}
{{- define "chaperone.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "chaperone.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "chaperone.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "chaperone.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: chaperone
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway") */}}
{{- define "chaperone.selectorLabels" -}}
app.kubernetes.io/name: {{ include "chaperone.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chaperone.componentLabels" -}}
{{ include "chaperone.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "chaperone.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "chaperone.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "chaperone.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "chaperone.tlsSecretName" -}}
{{- .Values.tls.existingSecret -}}
{{- end -}}

{{/* Where the policy bundle is read from: the mounted override, else the one in the image. */}}
{{- define "chaperone.bundleFile" -}}
{{- if .Values.policy.existingConfigMap -}}/etc/chaperone/policy/bundle.tar.gz{{- else -}}/opt/chaperone/policy/bundle.tar.gz{{- end -}}
{{- end -}}

{{/*
The configuration every service reads (/etc/chaperone/chaperone.yaml): what the chart derives
from its values, with .Values.config merged over it. Paths are those the pods mount.
*/}}
{{- define "chaperone.config" -}}
{{- $clickhouse := dict "url" .Values.clickhouse.url "database" .Values.clickhouse.database "username" .Values.clickhouse.username "password" .Values.clickhouse.password -}}
{{- if .Values.clickhouse.readonly.enabled -}}
{{- $_ := set $clickhouse "readonly" (dict "username" .Values.clickhouse.readonly.username "password" .Values.clickhouse.readonly.password) -}}
{{- end -}}
{{- $gateway := dict
  "postgres" (dict "listen" "0.0.0.0:6432" "tls" (dict "certFile" "/etc/chaperone/tls/tls.crt" "keyFile" "/etc/chaperone/tls/tls.key"))
  "http" "0.0.0.0:9101"
  "drainTimeout" (printf "%ds" (int .Values.gateway.drainTimeoutSeconds))
  "drainDelay" (printf "%ds" (int .Values.gateway.drainDelaySeconds)) -}}
{{- if .Values.gateway.httpProxy.enabled -}}
{{- $_ := set $gateway "httpProxy" (dict "listen" "0.0.0.0:8443" "tls" (dict "certFile" "/etc/chaperone/tls/tls.crt" "keyFile" "/etc/chaperone/tls/tls.key")) -}}
{{- end -}}
{{- $api := dict "listen" "0.0.0.0:50051" "http" "0.0.0.0:9301" "socGroups" .Values.api.socGroups -}}
{{- /* Gateway pods come from a Deployment: their names and IPs are unknown at render time, so
  by default the dashboard probes the gateway's headless metrics Service (one pod per probe);
  api.gatewayNodes lists nodes one by one where their addresses are known. */ -}}
{{- if .Values.api.gatewayNodes -}}
{{- $_ := set $api "gatewayNodes" .Values.api.gatewayNodes -}}
{{- else if .Values.gateway.enabled -}}
{{- $_ := set $api "gatewayNodes" (list (dict "id" (printf "%s-gateway (one pod per probe)" (include "chaperone.fullname" .)) "url" (printf "http://%s-gateway-metrics.%s.svc:9101" (include "chaperone.fullname" .) .Release.Namespace))) -}}
{{- end -}}
{{- if .Values.api.web.enabled -}}
{{- $_ := set $api "web" (dict "listen" "0.0.0.0:9443" "tls" (dict "certFile" "/etc/chaperone/tls/tls.crt" "keyFile" "/etc/chaperone/tls/tls.key")) -}}
{{- end -}}
{{- $base := dict
  "logging" (dict "level" .Values.logLevel)
  "identity" (dict "signingKeyFile" "/etc/chaperone/keys/identity.pem")
  "gateway" $gateway
  "recording" (dict "nodeKeyFile" "/etc/chaperone/keys/node.pem" "trustedNodeKeys" (dict (printf "%s-*" (include "chaperone.fullname" .)) "/etc/chaperone/keys/node.pub.pem"))
  "kafka" (dict "brokers" .Values.kafka.brokers "topic" .Values.kafka.topic "cancelTopic" .Values.kafka.cancelTopic "mcpToolsTopic" .Values.kafka.mcpToolsTopic "partitions" (int .Values.kafka.partitions))
  "clickhouse" $clickhouse
  "materializer" (dict "http" "0.0.0.0:9201" "batchSize" (int .Values.materializer.batchSize) "flushInterval" .Values.materializer.flushInterval)
  "temporal" (dict "address" .Values.temporal.address "namespace" .Values.temporal.namespace "taskQueue" .Values.temporal.taskQueue "http" "0.0.0.0:9401")
  "policy" (dict "bundleFile" (include "chaperone.bundleFile" .) "reloadInterval" .Values.policy.reloadInterval)
  "api" $api -}}
{{- $merged := mustMergeOverwrite $base (deepCopy .Values.config) -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* Volumes every pod has: config, keys, TLS (gateway), policy override, /tmp. */}}
{{- define "chaperone.volumes" -}}
- name: config
  secret:
    secretName: {{ include "chaperone.fullname" .root }}-config
- name: keys
  secret:
    secretName: {{ .root.Values.keys.existingSecret }}
    defaultMode: 0440
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- if .tls }}
- name: tls
  secret:
    secretName: {{ .tlsSecret | default (include "chaperone.tlsSecretName" .root) }}
    defaultMode: 0440
{{- end }}
{{- if .root.Values.policy.existingConfigMap }}
- name: policy
  configMap:
    name: {{ .root.Values.policy.existingConfigMap }}
{{- end }}
{{- with .root.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "chaperone.volumeMounts" -}}
- name: config
  mountPath: /etc/chaperone/chaperone.yaml
  subPath: chaperone.yaml
  readOnly: true
- name: keys
  mountPath: /etc/chaperone/keys
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .tls }}
- name: tls
  mountPath: /etc/chaperone/tls
  readOnly: true
{{- end }}
{{- if .root.Values.policy.existingConfigMap }}
- name: policy
  mountPath: /etc/chaperone/policy
  readOnly: true
{{- end }}
{{- with .root.Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "chaperone.env" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: CHAPERONE_CONFIG
  value: /etc/chaperone/chaperone.yaml
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every component: (dict "root" $ "values" .Values.gateway "component" "gateway") */}}
{{- define "chaperone.podSpecCommon" -}}
serviceAccountName: {{ include "chaperone.serviceAccountName" .root }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "chaperone.podAnnotations" -}}
checksum/config: {{ include "chaperone.config" .root | sha256sum }}
{{- with .root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
