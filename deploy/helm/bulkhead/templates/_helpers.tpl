{{/* The objects' name: the release's, with the chart's unless it holds it already. */}}
{{- define "bulkhead.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- printf "%s-serve" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s-serve" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The labels a selector matches: stable across upgrades. */}}
{{- define "bulkhead.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: serve
{{- end -}}

{{- define "bulkhead.labels" -}}
{{ include "bulkhead.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "bulkhead.priorityClassName" -}}
{{- if .Values.priorityClass.create -}}
{{ include "bulkhead.fullname" . }}
{{- else -}}
{{ .Values.priorityClass.name }}
{{- end -}}
{{- end -}}

{{/* The fleet's folder as serve sees it: the ConfigMap's mount, or git-sync's link into its checkout. */}}
{{- define "bulkhead.fleetDir" -}}
{{- if .Values.fleet.git.repository -}}
{{- if .Values.fleet.git.path -}}
/git/fleet/{{ trimPrefix "/" .Values.fleet.git.path }}
{{- else -}}
/git/fleet
{{- end -}}
{{- else -}}
/fleet
{{- end -}}
{{- end -}}

{{/* git-sync, once before serve starts (oneTime) and then beside it. */}}
{{- define "bulkhead.gitSync" -}}
- name: {{ if .oneTime }}fleet-clone{{ else }}fleet-sync{{ end }}
  image: {{ required "fleet.git.image: name the git-sync (v4) image your registry serves; the chart names no registry of its own" .Values.fleet.git.image }}
  imagePullPolicy: IfNotPresent
  {{- if not .oneTime }}
  # A native sidecar: it starts before serve and lives as long as the pod.
  restartPolicy: Always
  {{- end }}
  args:
    - --repo={{ .Values.fleet.git.repository }}
    - --ref={{ .Values.fleet.git.ref }}
    - --root=/git
    # /git/fleet: a link git-sync swaps to each new commit's worktree at
    # once, so serve never reads a half-written fleet.
    - --link=fleet
    - --depth=1
    {{- if .oneTime }}
    - --one-time
    {{- else }}
    - --period={{ .Values.fleet.git.period }}
    {{- end }}
  env:
    # git writes its own files under HOME; the root file system is read-only.
    - {name: HOME, value: /tmp}
  {{- with .Values.fleet.git.credentialsSecret }}
  envFrom:
    - secretRef: {name: {{ . }}}
  {{- end }}
  resources:
    requests: {cpu: 10m, memory: 32Mi}
    limits: {memory: 256Mi}
  securityContext:
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities: {drop: [ALL]}
  volumeMounts:
    - {name: git, mountPath: /git}
    - {name: scratch, mountPath: /tmp}
{{- end -}}
