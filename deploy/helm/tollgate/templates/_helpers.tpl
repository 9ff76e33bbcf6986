{{- define "tollgate.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tollgate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "tollgate.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Tollgate config: the user's, with what the pod layout decides set by the chart. */}}
{{- define "tollgate.config" -}}
{{- $fixed := dict
  "listener" (dict "address" "0.0.0.0" "port" 10000 "trusted_proxy_hops" (int .Values.trustedProxyHops))
  "envoy" (dict "admin" (dict "address" "127.0.0.1" "port" 9901) "config_dir" "/etc/tollgate/envoy" "readiness_path" .Values.envoyReadinessPath)
  "extproc" (dict "address" "127.0.0.1" "port" 50051)
  "admin" (dict "address" "0.0.0.0" "port" 8088 "token_env" "TOLLGATE_ADMIN_TOKEN")
  "store" (dict "type" "redis" "url_env" "TOLLGATE_REDIS_URL")
-}}
{{- if .Values.tls.enabled -}}
{{- $tls := dict "cert_file" "/etc/tollgate/tls/tls.crt" "key_file" "/etc/tollgate/tls/tls.key" "require_client_cert" .Values.tls.requireClientCert -}}
{{- if .Values.tls.clientCaSecretName -}}
{{- $_ := set $tls "client_ca_file" "/etc/tollgate/client-ca/ca.crt" -}}
{{- end -}}
{{- $_ := set $fixed.listener "tls" $tls -}}
{{- end -}}
{{- $config := deepCopy .Values.config -}}
{{- if .Values.secrets.postgresUrlKey -}}
{{- $ledger := default dict (get $config "ledger") -}}
{{- $_ := set $ledger "sink" (dict "type" "postgres" "url_env" "TOLLGATE_POSTGRES_URL") -}}
{{- $_ := set $config "ledger" $ledger -}}
{{- end -}}
{{- toYaml (mergeOverwrite $config $fixed) -}}
{{- end -}}
