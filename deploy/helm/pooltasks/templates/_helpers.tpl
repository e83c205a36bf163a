{{/* The name of every object: the release's, with "pooltasks" once. */}}
{{- define "pooltasks.fullname" -}}
{{- if contains "pooltasks" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-pooltasks" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pooltasks.selector" -}}
app.kubernetes.io/name: pooltasks
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pooltasks.labels" -}}
{{ include "pooltasks.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "pooltasks.secretName" -}}
{{- .Values.secret.existingSecret | default (include "pooltasks.fullname" .) -}}
{{- end -}}

{{/* The URL of the chart's own Redis (redis.enabled). */}}
{{- define "pooltasks.redisURL" -}}
{{- printf "redis://%s-redis:6379/0" (include "pooltasks.fullname" .) -}}
{{- end -}}

{{- define "pooltasks.schedulerURL" -}}
{{- printf "http://%s-scheduler:8080" (include "pooltasks.fullname" .) -}}
{{- end -}}

{{/* GOMEMLIMIT: goMemLimitPercent of resources.limits.memory (Mi or Gi), in MiB. */}}
{{- define "pooltasks.goMemLimit" -}}
{{- $limit := toString (required "resources.limits.memory is needed: GOMEMLIMIT is derived from it" .Values.resources.limits.memory) -}}
{{- $mib := 0.0 -}}
{{- if hasSuffix "Gi" $limit -}}
{{- $mib = mulf (float64 (trimSuffix "Gi" $limit)) 1024 -}}
{{- else if hasSuffix "Mi" $limit -}}
{{- $mib = float64 (trimSuffix "Mi" $limit) -}}
{{- else -}}
{{- fail (printf "resources.limits.memory %q: write it in Mi or Gi, e.g. 128Mi" $limit) -}}
{{- end -}}
{{- printf "%dMiB" (int (divf (mulf $mib .Values.goMemLimitPercent) 100)) -}}
{{- end -}}

{{- define "pooltasks.checkValues" -}}
{{- if not (has .Values.state.mode (list "file" "redis")) -}}
{{- fail (printf "state.mode %q: write file (the scheduler's volume) or redis (POOLTASKS_REDIS_URL)" .Values.state.mode) -}}
{{- end -}}
{{- if and .Values.redis.enabled (ne .Values.state.mode "redis") -}}
{{- fail "redis.enabled runs a Redis for state.mode redis: set state.mode=redis too" -}}
{{- end -}}
{{- if and .Values.redis.enabled .Values.secret.redisURL -}}
{{- fail "redis.enabled and secret.redisURL both name a Redis: keep one" -}}
{{- end -}}
{{- if and (eq .Values.state.mode "redis") (not .Values.redis.enabled) (not .Values.secret.existingSecret) (not .Values.secret.redisURL) -}}
{{- fail "state.mode redis needs secret.redisURL (redis://… or rediss://…), secret.existingSecret holding POOLTASKS_REDIS_URL, or redis.enabled" -}}
{{- end -}}
{{- if and .Values.digestCronJob.enabled (not .Values.config.POOLTASKS_DIGEST_CHANNEL) -}}
{{- fail "digestCronJob.enabled needs config.POOLTASKS_DIGEST_CHANNEL, the channel it posts in" -}}
{{- end -}}
{{- end -}}

{{/* A variable from the Secret; optional ones may be missing from an existing Secret. */}}
{{- define "pooltasks.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "pooltasks.secretName" .root }}
      key: {{ .name }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The pod spec of every role. .role: responder, scheduler or digest; .args; .env: extra variables. */}}
{{- define "pooltasks.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if eq .role "digest" }}
restartPolicy: Never
{{- end }}
containers:
  - name: pooltasks
    image: {{ printf "%s:%s" $v.image.repository (toString $v.image.tag) | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args: {{ toJson .args }}
    {{- if ne .role "digest" }}
    ports:
      - name: http
        containerPort: 8080
    {{- end }}
    envFrom:
      - configMapRef:
          name: {{ include "pooltasks.fullname" $root }}
    env:
      - name: POOLTASKS_STATE_DIR
        value: /var/lib/pooltasks
      - name: GOMEMLIMIT
        value: {{ include "pooltasks.goMemLimit" $root | quote }}
      {{- range $name, $value := .env }}
      - name: {{ $name }}
        value: {{ $value | quote }}
      {{- end }}
      {{- if ne .role "digest" }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "SLACK_APP_TOKEN") | nindent 6 }}
      {{- end }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "SLACK_BOT_TOKEN") | nindent 6 }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "HUAWEICLOUD_SDK_AK" "optional" true) | nindent 6 }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "HUAWEICLOUD_SDK_SK" "optional" true) | nindent 6 }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "HUAWEICLOUD_SDK_SECURITY_TOKEN" "optional" true) | nindent 6 }}
      {{- if $v.redis.enabled }}
      - name: POOLTASKS_REDIS_URL
        value: {{ include "pooltasks.redisURL" $root | quote }}
      {{- else }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "POOLTASKS_REDIS_URL" "optional" true) | nindent 6 }}
      {{- end }}
      {{- if and (ne .role "digest") $v.scheduler.enabled (eq $v.state.mode "file") }}
      {{- include "pooltasks.secretEnv" (dict "root" $root "name" "POOLTASKS_INTERNAL_TOKEN") | nindent 6 }}
      {{- end }}
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- if ne .role "digest" }}
    # /healthz: the process is up. /readyz: the socket-mode connection is open.
    livenessProbe:
      httpGet:
        path: /healthz
        port: http
      {{- toYaml $v.probes.liveness | nindent 6 }}
    readinessProbe:
      httpGet:
        path: /readyz
        port: http
      {{- toYaml $v.probes.readiness | nindent 6 }}
    {{- end }}
    resources:
      {{- toYaml $v.resources | nindent 6 }}
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      runAsNonRoot: true
      capabilities:
        drop: ["ALL"]
    volumeMounts:
      - name: state
        mountPath: /var/lib/pooltasks
      - name: tmp
        mountPath: /tmp
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: state
    {{- if eq .role "scheduler" }}
    persistentVolumeClaim:
      claimName: {{ include "pooltasks.fullname" $root }}-state
    {{- else }}
    emptyDir:
      sizeLimit: 16Mi
    {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}
