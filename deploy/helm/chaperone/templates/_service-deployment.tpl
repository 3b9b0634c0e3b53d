{{/*
The Deployment of a service that is not a listener for agents (materializer, api,
approvals-worker): (dict "root" $ "component" "api" "values" .Values.api "command" "api"
"opsPort" 9301 "ports" (list …) "drainSeconds" 15)
*/}}
{{- define "chaperone.serviceDeployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chaperone.fullname" $root }}-{{ .component }}
  labels:
    {{- include "chaperone.componentLabels" . | nindent 4 }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "chaperone.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "chaperone.componentLabels" . | nindent 8 }}
      annotations:
        {{- include "chaperone.podAnnotations" . | nindent 8 }}
    spec:
      {{- include "chaperone.podSpecCommon" . | nindent 6 }}
      terminationGracePeriodSeconds: {{ .drainSeconds }}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: kubernetes.io/hostname
                labelSelector:
                  matchLabels:
                    {{- include "chaperone.selectorLabels" . | nindent 20 }}
      containers:
        - name: {{ .component }}
          image: {{ include "chaperone.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ .command }}, --config, /etc/chaperone/chaperone.yaml, --node-id, $(POD_NAME)]
          env:
            {{- include "chaperone.env" $root | nindent 12 }}
          {{- with $root.Values.extraEnvFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - { name: metrics, containerPort: {{ .opsPort }}, protocol: TCP }
            {{- range .ports }}
            - {{ toJson . }}
            {{- end }}
          readinessProbe:
            httpGet: { path: /healthz, port: metrics }
            periodSeconds: 5
            failureThreshold: 2
            timeoutSeconds: 2
          livenessProbe:
            httpGet: { path: /livez, port: metrics }
            periodSeconds: 10
            failureThreshold: 3
            timeoutSeconds: 2
          startupProbe:
            httpGet: { path: /livez, port: metrics }
            periodSeconds: 2
            failureThreshold: 60
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "chaperone.volumeMounts" . | nindent 12 }}
      volumes:
        {{- include "chaperone.volumes" . | nindent 8 }}
{{- end -}}
