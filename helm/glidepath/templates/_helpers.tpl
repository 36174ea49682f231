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

{{/* Where the container sees its files (the ConfigMap and the Secrets). */}}
{{- define "glidepath.configDir" -}}/etc/glidepath/config{{- end }}
{{- define "glidepath.hooksTokenDir" -}}/etc/glidepath/hooks{{- end }}
{{- define "glidepath.hookTlsDir" -}}/etc/glidepath/hook-tls{{- end }}
{{/* The port of /metrics and the probes: its own when metricsPort is set. */}}
{{- define "glidepath.metricsPortName" -}}{{ if .Values.metricsPort }}metrics{{ else }}http{{ end }}{{- end }}
{{- define "glidepath.stampKeyDir" -}}/etc/glidepath/stamp-key{{- end }}
{{- define "glidepath.webhookTlsDir" -}}/etc/glidepath/webhook-tls{{- end }}

{{/* The MutatingWebhookConfiguration (cluster-scoped): <fullname>-controller. */}}
{{- define "glidepath.webhookConfigurationName" -}}
{{- include "glidepath.controllerName" . }}
{{- end }}

{{/* The Secret holding the webhook's serving certificate (and, in mode self, its CA). */}}
{{- define "glidepath.webhookTlsSecretName" -}}
{{- printf "%s-webhook-tls" (include "glidepath.fullname" .) }}
{{- end }}

{{/* The cert-manager Certificate, in mode certManager. */}}
{{- define "glidepath.webhookCertificateName" -}}
{{- printf "%s-webhook" (include "glidepath.fullname" .) }}
{{- end }}

{{/* The stamp key's Secret: the one given, or the one the chart generates. */}}
{{- define "glidepath.stampKeySecretName" -}}
{{- default (printf "%s-stamp-key" (include "glidepath.fullname" .)) .Values.admission.stampKey.existingSecret }}
{{- end }}

{{- define "glidepath.certificateMode" -}}
{{- $mode := .Values.admission.certificate.mode }}
{{- if not (has $mode (list "self" "certManager")) }}
{{- fail (printf "admission.certificate.mode must be self or certManager, not %q" $mode) }}
{{- end }}
{{- $mode }}
{{- end }}

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
{{- $sharding := deepCopy (default dict $config.sharding) }}
{{- if gt (int (default 1 $sharding.replicas)) 1 }}
{{- if ne (int $sharding.replicas) (int .Values.replicaCount) }}
{{- fail (printf "config.sharding.replicas (%v) must equal replicaCount (%v): it is how many replicas share the shards" $sharding.replicas .Values.replicaCount) }}
{{- end }}
{{- if gt (int (default 16 $sharding.shards)) 16 }}
{{- fail "config.sharding.shards above 16: the leader-election Role allows the Leases <fullname>-shard-0 … -15 only" }}
{{- end }}
{{- end }}
{{- /* The shard Leases are the ones the leader-election Role allows. */}}
{{- $_ := set $sharding "leasePrefix" (printf "%s-shard" (include "glidepath.fullname" .)) }}
{{- $_ := set $config "sharding" $sharding }}
{{- $trust := dict "stampKey" (dict "file" (printf "%s/key" (include "glidepath.stampKeyDir" .))) }}
{{- if .Values.admission.enabled }}
{{- $webhook := dict "port" (int .Values.admission.port) }}
{{- if eq (include "glidepath.certificateMode" .) "self" }}
{{- $_ := set $webhook "selfManagedCertificate" (dict
  "secret" (dict "namespace" .Release.Namespace "name" (include "glidepath.webhookTlsSecretName" .))
  "service" (dict "namespace" .Release.Namespace "name" (include "glidepath.controllerName" .))
  "mutatingWebhookConfiguration" (include "glidepath.webhookConfigurationName" .)
  "validity" .Values.admission.certificate.validity
  "renewBefore" .Values.admission.certificate.renewBefore) }}
{{- else }}
{{- $_ := set $webhook "certFile" (printf "%s/tls.crt" (include "glidepath.webhookTlsDir" .)) }}
{{- $_ := set $webhook "keyFile" (printf "%s/tls.key" (include "glidepath.webhookTlsDir" .)) }}
{{- $_ := set $webhook "configurationName" (include "glidepath.webhookConfigurationName" .) }}
{{- end }}
{{- $_ := set $trust "webhook" $webhook }}
{{- end }}
{{- $_ := set $config "trust" $trust }}
{{- if .Values.hookTls.existingSecret }}
{{- $_ := set $config "tls" (dict "certFile" (printf "%s/tls.crt" (include "glidepath.hookTlsDir" .)) "keyFile" (printf "%s/tls.key" (include "glidepath.hookTlsDir" .))) }}
{{- end }}
{{- if .Values.metricsPort }}
{{- $_ := set $config "metricsPort" (int .Values.metricsPort) }}
{{- end }}
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
The rules of one ClusterRole or Role (by kind and name) in files/rbac.yaml, the chart's copy
of manifests/install/rbac.yaml: one source for the least-privilege rules of both installs.
resourceNames there start with "glidepath-"; here they start with the chart's fullname.
Rules for the resources listed last are left out (what a mode does not need).
Usage: include "glidepath.rbacRules" (list . "ClusterRole" "glidepath-controller-webhook" (list "mutatingwebhookconfigurations"))
*/}}
{{- define "glidepath.rbacRules" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $name := index . 2 }}
{{- $without := index . 3 }}
{{- $fullname := include "glidepath.fullname" $root }}
{{- $rules := list }}
{{- range $document := regexSplit "(?m)^---[ \\t]*$" ($root.Files.Get "files/rbac.yaml") -1 }}
{{- $object := fromYaml $document }}
{{- if and (eq (toString $object.kind) $kind) (eq (toString $object.metadata.name) $name) }}
{{- range $rule := $object.rules }}
{{- if not (or (has (first $rule.resources) $without) (has (printf "%s/%s" (first $rule.resources) (first $rule.verbs)) $without)) }}
{{- if and (eq (first $rule.resources) "namespaces") $root.Values.config.namespaces }}
{{- /* The namespaced install reads only the namespaces it watches. */}}
{{- $_ := set $rule "resourceNames" $root.Values.config.namespaces }}
{{- else if $rule.resourceNames }}
{{- $names := list }}
{{- range $rule.resourceNames }}
{{- $names = append $names (printf "%s-%s" $fullname (trimPrefix "glidepath-" .)) }}
{{- end }}
{{- $_ := set $rule "resourceNames" $names }}
{{- end }}
{{- $rules = append $rules $rule }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $rules }}
{{- fail (printf "files/rbac.yaml has no %s %s with rules" $kind $name) }}
{{- end }}
{{- toYaml $rules }}
{{- end }}
