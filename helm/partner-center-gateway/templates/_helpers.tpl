{{/*
Names and labels.
*/}}
{{- define "pcg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "pcg.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "pcg.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: only name and instance, so they never change across upgrades (a Deployment's
selector is immutable).
*/}}
{{- define "pcg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pcg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "pcg.labels" -}}
helm.sh/chart: {{ include "pcg.chart" . }}
{{ include "pcg.selectorLabels" . }}
app.kubernetes.io/version: {{ (include "pcg.imageTag" .) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: partner-center-gateway
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "pcg.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pcg.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pcg.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "pcg.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "pcg.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Where the gateway listens: "host:port", with an IPv6 host in brackets.
*/}}
{{- define "pcg.listen" -}}
{{- $host := .root.Values.listenAddress }}
{{- if contains ":" $host }}{{ $host = printf "[%s]" $host }}{{ end }}
{{- printf "%s:%d" $host (int .port) }}
{{- end }}

{{- define "pcg.configDir" -}}/etc/partner-center-gateway{{- end }}
{{- define "pcg.configFile" -}}{{ include "pcg.configDir" . }}/config.toml{{- end }}

{{/*
Name of the Secret the chart creates (partner credentials given in values, generated or given
page-token secret).
*/}}
{{- define "pcg.secretName" -}}
{{- include "pcg.fullname" . }}
{{- end }}

{{/*
Secret and key holding a partner's client secret / refresh token.
Input: dict "root" $ "partner" $partner.
*/}}
{{- define "pcg.partnerSecretName" -}}
{{- default (default (include "pcg.secretName" .root) .root.Values.credentials.existingSecret) .partner.existingSecret }}
{{- end }}
{{- define "pcg.partnerClientSecretKey" -}}
{{- default (printf "%s-client-secret" .partner.id) .partner.clientSecretKey }}
{{- end }}
{{- define "pcg.partnerRefreshTokenKey" -}}
{{- default (printf "%s-refresh-token" .partner.id) .partner.refreshTokenKey }}
{{- end }}

{{/*
True ("true") when the partner's credentials come from the Secret this chart creates.
*/}}
{{- define "pcg.partnerUsesChartSecret" -}}
{{- if and (not .partner.existingSecret) (not .root.Values.credentials.existingSecret) }}true{{ end }}
{{- end }}

{{/*
Page-token secret: the Secret and key GATEWAY_PAGING__TOKEN_SECRET comes from.
*/}}
{{- define "pcg.pagingSecretName" -}}
{{- default (include "pcg.secretName" .) .Values.pagingTokenSecret.existingSecret }}
{{- end }}
{{- define "pcg.pagingSecretKey" -}}
{{- if .Values.pagingTokenSecret.existingSecret }}{{ .Values.pagingTokenSecret.key }}{{ else }}paging-token-secret{{ end }}
{{- end }}

{{/*
The page-token secret when this chart owns it: the value from values, else the one already in the
cluster (kept across upgrades), else a new random one. `helm template` cannot look the cluster up,
so there it is new on every render: give pagingTokenSecret.existingSecret (or .value) in production.
*/}}
{{- define "pcg.pagingSecretValue" -}}
{{- if .Values.pagingTokenSecret.value }}
{{- .Values.pagingTokenSecret.value }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "pcg.secretName" .) }}
{{- if and $existing (hasKey ($existing.data | default dict) "paging-token-secret") }}
{{- index $existing.data "paging-token-secret" | b64dec }}
{{- else }}
{{- randAlphaNum 64 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Does the chart create its own Secret? When a partner's credentials or the page-token secret come
from values (or are generated).
*/}}
{{- define "pcg.createSecret" -}}
{{- $create := not .Values.pagingTokenSecret.existingSecret }}
{{- range .Values.partners }}
{{- if include "pcg.partnerUsesChartSecret" (dict "root" $ "partner" .) }}{{ $create = true }}{{ end }}
{{- end }}
{{- if $create }}true{{ end }}
{{- end }}

{{/*
Checks on values that would otherwise give a pod that cannot start, or settings the chart must own.
*/}}
{{- define "pcg.validate" -}}
{{- $config := .Values.config | default dict }}
{{- $rest := get $config "rest" | default dict }}
{{- $grpc := get $config "grpc" | default dict }}
{{- if or (hasKey $rest "listen") (hasKey $grpc "listen") (hasKey (get $config "metrics" | default dict) "listen") }}
{{- fail "config.rest.listen / config.grpc.listen / config.metrics.listen are set by the chart from containerPorts and listenAddress; set those instead" }}
{{- end }}
{{- if hasKey $rest "shutdown_grace" }}
{{- fail "config.rest.shutdown_grace is set by the chart from shutdown.graceSeconds (which also sizes terminationGracePeriodSeconds); set that instead" }}
{{- end }}
{{- if hasKey (get $config "paging" | default dict) "token_secret" }}
{{- fail "config.paging.token_secret must not be in the ConfigMap; use pagingTokenSecret.existingSecret or pagingTokenSecret.value" }}
{{- end }}
{{- $redis := get $config "redis" | default dict }}
{{- if or (hasKey $redis "url") (hasKey $redis "url_file") (hasKey $redis "encryption_key_file") (hasKey $redis "tls_ca_file") }}
{{- fail "config.redis.url, url_file, encryption_key_file and tls_ca_file are set by the chart from redis.existingSecret (the URL holds a password and must not be in the ConfigMap); set that instead" }}
{{- end }}
{{- if and (or .Values.redis.encryptionKeyKey .Values.redis.tlsCaKey) (not .Values.redis.existingSecret) }}
{{- fail "redis.encryptionKeyKey and redis.tlsCaKey need redis.existingSecret" }}
{{- end }}
{{- if hasKey (get $config "partner_center" | default dict) "partners" }}
{{- fail "config.partner_center.partners is rendered from the top-level `partners` list (credentials come from Secrets); move the entries there" }}
{{- end }}
{{- $seen := dict }}
{{- range $i, $p := .Values.partners }}
{{- if not $p.id }}{{ fail (printf "partners[%d].id is required" $i) }}{{ end }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $p.id) }}
{{- fail (printf "partners[%d].id %q must be lowercase letters, digits and '-' (it names files and Secret keys)" $i $p.id) }}
{{- end }}
{{- if hasKey $seen $p.id }}{{ fail (printf "partners[%d].id %q is listed twice" $i $p.id) }}{{ end }}
{{- $_ := set $seen $p.id true }}
{{- if not $p.tenantId }}{{ fail (printf "partners[%d].tenantId is required" $i) }}{{ end }}
{{- if not $p.clientId }}{{ fail (printf "partners[%d].clientId is required" $i) }}{{ end }}
{{- if include "pcg.partnerUsesChartSecret" (dict "root" $ "partner" $p) }}
{{- if not $p.clientSecret }}
{{- fail (printf "partners[%d] (%s): give clientSecret, or credentials.existingSecret / partners[].existingSecret" $i $p.id) }}
{{- end }}
{{- if and $p.appUser (not $p.refreshToken) }}
{{- fail (printf "partners[%d] (%s): appUser needs refreshToken, or credentials.existingSecret / partners[].existingSecret" $i $p.id) }}
{{- end }}
{{- end }}
{{- end }}
{{- $grace := int .Values.shutdown.graceSeconds }}
{{- $needed := add $grace (int .Values.shutdown.preStopSleepSeconds) 1 }}
{{- if and .Values.terminationGracePeriodSeconds (le (int .Values.terminationGracePeriodSeconds) $needed) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed shutdown.preStopSleepSeconds + shutdown.graceSeconds + 1 (%d)" (int .Values.terminationGracePeriodSeconds) $needed) }}
{{- end }}
{{- if eq (int .Values.containerPorts.http) (int .Values.containerPorts.grpc) }}
{{- fail "containerPorts.http and containerPorts.grpc must differ" }}
{{- end }}
{{- end }}

{{/*
terminationGracePeriodSeconds: above preStop sleep + the gateway's own drain (rest.shutdown_grace),
so the kubelet never SIGKILLs a replica that is still finishing requests.
*/}}
{{- define "pcg.terminationGracePeriodSeconds" -}}
{{- if .Values.terminationGracePeriodSeconds }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- add (int .Values.shutdown.graceSeconds) (int .Values.shutdown.preStopSleepSeconds) 10 }}
{{- end }}
{{- end }}

{{/*
The gateway's settings as a map: `config` from values, then what the chart owns (listen addresses,
shutdown grace, partners with file-backed credentials). Rendered to TOML by "pcg.toml".
*/}}
{{- define "pcg.settings" -}}
{{- $settings := deepCopy (.Values.config | default dict) }}
{{- $rest := get $settings "rest" | default dict }}
{{- $_ := set $rest "listen" (include "pcg.listen" (dict "root" . "port" .Values.containerPorts.http)) }}
{{- $_ := set $rest "shutdown_grace" (printf "%ds" (int .Values.shutdown.graceSeconds)) }}
{{- $_ := set $settings "rest" $rest }}
{{- $grpc := get $settings "grpc" | default dict }}
{{- $_ := set $grpc "listen" (include "pcg.listen" (dict "root" . "port" .Values.containerPorts.grpc)) }}
{{- $_ := set $settings "grpc" $grpc }}
{{- if .Values.containerPorts.metrics }}
{{- $metrics := get $settings "metrics" | default dict }}
{{- $_ := set $metrics "listen" (include "pcg.listen" (dict "root" . "port" .Values.containerPorts.metrics)) }}
{{- $_ := set $settings "metrics" $metrics }}
{{- end }}
{{- if .Values.partners }}
{{- $pc := get $settings "partner_center" | default dict }}
{{- $partners := list }}
{{- range .Values.partners }}
{{- $dir := printf "%s/%s" $.Values.credentials.mountPath .id }}
{{- $p := dict "id" .id "tenant_id" .tenantId "client_id" .clientId "client_secret_file" (printf "%s/client-secret" $dir) }}
{{- if .appUser }}{{ $_ := set $p "refresh_token_file" (printf "%s/refresh-token" $dir) }}{{ end }}
{{- $partners = append $partners $p }}
{{- end }}
{{- $_ := set $pc "partners" $partners }}
{{- $_ := set $settings "partner_center" $pc }}
{{- end }}
{{- if .Values.redis.existingSecret }}
{{- $redis := get $settings "redis" | default dict }}
{{- $_ := set $redis "url_file" (printf "%s/url" .Values.redis.mountPath) }}
{{- if .Values.redis.encryptionKeyKey }}
{{- $_ := set $redis "encryption_key_file" (printf "%s/encryption-key" .Values.redis.mountPath) }}
{{- end }}
{{- if .Values.redis.tlsCaKey }}
{{- $_ := set $redis "tls_ca_file" (printf "%s/ca.crt" .Values.redis.mountPath) }}
{{- end }}
{{- if not (hasKey $redis "expected_replicas") }}
{{- $_ := set $redis "expected_replicas" (include "pcg.expectedReplicas" . | int) }}
{{- end }}
{{- $_ := set $settings "redis" $redis }}
{{- end }}
{{- toJson $settings }}
{{- end }}

{{/*
Replicas the partner budget is split between while Redis is unreachable: as many as may run.
*/}}
{{- define "pcg.expectedReplicas" -}}
{{- if gt (int .Values.redis.expectedReplicas) 0 }}
{{- int .Values.redis.expectedReplicas }}
{{- else if .Values.autoscaling.enabled }}
{{- int .Values.autoscaling.maxReplicas }}
{{- else }}
{{- max 1 (int .Values.replicaCount) }}
{{- end }}
{{- end }}

{{/*
TOML from a map. Helm's toToml turns every YAML number into a float (`3` → `3.0`), which the
gateway's integer settings refuse, so this renders integral numbers as integers. Null values are
left out (TOML has no null), so `key: null` in values drops a chart default.
*/}}
{{- define "pcg.toml" -}}
{{- include "pcg.toml.table" (dict "path" list "table" .) }}
{{- end }}

{{- define "pcg.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{- define "pcg.toml.isTableArray" -}}
{{- if and (kindIs "slice" .) (gt (len .) 0) }}
{{- $all := true }}
{{- range . }}{{ if not (kindIs "map" .) }}{{ $all = false }}{{ end }}{{ end }}
{{- if $all }}true{{ end }}
{{- end }}
{{- end }}

{{- define "pcg.toml.value" -}}
{{- if kindIs "string" . }}{{ toJson . }}
{{- else if kindIs "bool" . }}{{ . }}
{{- else if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (float64 (int64 .)) (float64 .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if or (kindIs "int" .) (kindIs "int64" .) (kindIs "int32" .) (kindIs "uint64" .) }}{{ . }}
{{- else if kindIs "slice" . }}[{{ range $i, $v := . }}{{ if $i }}, {{ end }}{{ include "pcg.toml.value" $v }}{{ end }}]
{{- else if kindIs "map" . }}{ {{- $first := true }}{{ range $k := keys . | sortAlpha }}{{ $v := get $ $k }}{{ if not (kindIs "invalid" $v) }}{{ if not $first }},{{ end }} {{ include "pcg.toml.key" $k }} = {{ include "pcg.toml.value" $v }}{{ $first = false }}{{ end }}{{ end }} }
{{- else }}{{ fail (printf "config: cannot write a %s as TOML" (kindOf .)) }}
{{- end }}
{{- end }}

{{- define "pcg.toml.table" -}}
{{- $table := .table }}
{{- $path := .path }}
{{- $ks := keys $table | sortAlpha }}
{{- range $k := $ks }}
{{- $v := get $table $k }}
{{- if and (not (kindIs "invalid" $v)) (not (kindIs "map" $v)) (not (include "pcg.toml.isTableArray" $v)) }}
{{ include "pcg.toml.key" $k }} = {{ include "pcg.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $k := $ks }}
{{- $v := get $table $k }}
{{- $sub := append $path (include "pcg.toml.key" $k) }}
{{- if kindIs "map" $v }}

[{{ join "." $sub }}]
{{- include "pcg.toml.table" (dict "path" $sub "table" $v) }}
{{- else if include "pcg.toml.isTableArray" $v }}
{{- range $item := $v }}

[[{{ join "." $sub }}]]
{{- include "pcg.toml.table" (dict "path" $sub "table" $item) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
