{{/* The chart name, or nameOverride. */}}
{{- define "glidepath.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name prefix: fullnameOverride, else the release name when it already contains the
chart name (`helm install glidepath` → glidepath), else <release>-<chart>.
*/}}
{{- define "glidepath.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Deployment, Service, ConfigMap, PDB, ClusterRole(Binding) and the Lease: <fullname>-controller. */}}
{{- define "glidepath.controllerName" -}}
{{- printf "%s-controller" (include "glidepath.fullname" .) }}
{{- end }}

{{/* The leader-election Role and RoleBinding. */}}
{{- define "glidepath.leaderElectionName" -}}
{{- printf "%s-leader-election" (include "glidepath.fullname" .) }}
{{- end }}

{{- define "glidepath.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "glidepath.controllerName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "glidepath.selectorLabels" -}}
app.kubernetes.io/name: {{ include "glidepath.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "glidepath.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "glidepath.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "glidepath.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the container sees its files (the ConfigMap and the hooks token Secret). */}}
{{- define "glidepath.configDir" -}}/etc/glidepath/config{{- end }}
{{- define "glidepath.hooksTokenDir" -}}/etc/glidepath/hooks{{- end }}

{{/*
The controller configuration (src/api/controller-config.ts): the user's `config` with the
keys the chart must own set over it — the strategy file and the port match the mounts and
the probes, the Lease is the one the leader-election Role allows, in this namespace, and
the webhook's token is the mounted Secret.
*/}}
{{- define "glidepath.controllerConfig" -}}
{{- $config := deepCopy .Values.config }}
{{- $_ := set $config "strategyFile" (printf "%s/rollout-strategy.json" (include "glidepath.configDir" .)) }}
{{- $_ := set $config "port" (int .Values.containerPort) }}
{{- $leaderElection := deepCopy (default dict $config.leaderElection) }}
{{- $_ := set $leaderElection "leaseName" (include "glidepath.controllerName" .) }}
{{- $_ := set $leaderElection "leaseNamespace" .Release.Namespace }}
{{- $_ := set $config "leaderElection" $leaderElection }}
{{- if .Values.hooksToken.existingSecret }}
{{- $hooks := deepCopy (default dict $config.hooks) }}
{{- $alertmanager := deepCopy (default dict $hooks.alertmanager) }}
{{- $_ := set $alertmanager "token" (dict "file" (printf "%s/token" (include "glidepath.hooksTokenDir" .))) }}
{{- $_ := set $hooks "alertmanager" $alertmanager }}
{{- $_ := set $config "hooks" $hooks }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* rollout-strategy.json: the `strategy` value when set, else the chart's copy of rollout/. */}}
{{- define "glidepath.strategyFile" -}}
{{- if .Values.strategy }}
{{- toPrettyJson .Values.strategy }}
{{- else }}
{{- .Files.Get "files/rollout-strategy.json" }}
{{- end }}
{{- end }}

{{/*
The rules of the ClusterRole or the Role (by kind) in files/rbac.yaml, the chart's copy of
manifests/install/rbac.yaml: one source for the least-privilege rules of both installs.
Usage: include "glidepath.rbacRules" (list . "ClusterRole")
*/}}
{{- define "glidepath.rbacRules" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $rules := list }}
{{- range $document := regexSplit "(?m)^---[ \\t]*$" ($root.Files.Get "files/rbac.yaml") -1 }}
{{- $object := fromYaml $document }}
{{- if eq (toString $object.kind) $kind }}
{{- $rules = $object.rules }}
{{- end }}
{{- end }}
{{- if not $rules }}
{{- fail (printf "files/rbac.yaml has no %s with rules" $kind) }}
{{- end }}
{{- toYaml $rules }}
{{- end }}
