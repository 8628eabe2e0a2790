//! The Helm wrapper chart, the sandbox compose file and the image manifest.

use super::yaml_out::{Y, map, s, to_yaml};
use crate::handlers::inputs::{ImageSpec, RegistryInputs, ResourceProfile};

/// The port every generated service listens on inside its container.
pub const CONTAINER_PORT: i64 = 8080;

/// What a chart component runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The extension's API image.
    Api,
    /// The staff-portal image.
    Portal,
    /// Not built by this playbook (a worker, a database): written disabled, sized.
    Other,
}

/// One component of the chart with its production size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// A Kubernetes name (lowercase letters, digits, `-`).
    pub name: String,
    pub role: Role,
    pub replicas: u32,
    pub cpu: String,
    pub memory: String,
}

/// `api` in a name's words makes an API component; `ui`, `portal`, `web` or `frontend` a
/// portal one; anything else is a component this playbook builds no image for.
pub fn role_of(name: &str) -> Role {
    let words: Vec<String> = name.to_ascii_lowercase().split(|c: char| !c.is_ascii_alphanumeric()).map(str::to_string).collect();
    if words.iter().any(|w| w == "api") {
        Role::Api
    } else if words.iter().any(|w| matches!(w.as_str(), "ui" | "portal" | "web" | "frontend")) {
        Role::Portal
    } else {
        Role::Other
    }
}

/// The fixed sizes behind `small`, `medium` and `large`: (replicas, cpu, memory).
pub fn tshirt(size: &str, role: Role) -> Option<(u32, &'static str, &'static str)> {
    Some(match (size.trim().to_ascii_lowercase().as_str(), role) {
        ("small", Role::Api | Role::Other) => (1, "250m", "512Mi"),
        ("small", Role::Portal) => (1, "100m", "128Mi"),
        ("medium", Role::Api) => (2, "500m", "1Gi"),
        ("medium", Role::Portal) => (2, "200m", "256Mi"),
        ("medium", Role::Other) => (1, "500m", "1Gi"),
        ("large", Role::Api) => (3, "1", "2Gi"),
        ("large", Role::Portal) => (3, "250m", "512Mi"),
        ("large", Role::Other) => (2, "1", "2Gi"),
        _ => return None,
    })
}

fn k8s_name(component: &str) -> String {
    let lowered: String = component.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let mut name = String::new();
    for part in lowered.split('-').filter(|p| !p.is_empty()) {
        if !name.is_empty() {
            name.push('-');
        }
        name.push_str(part);
    }
    name
}

/// The chart's components from `helm_resource_profile`.
pub fn components(inputs: &RegistryInputs) -> Result<Vec<Component>, String> {
    let mut out: Vec<Component> = Vec::new();
    match &inputs.resource_profile {
        ResourceProfile::Size(size) => {
            for (name, role) in [("api", Role::Api), ("staff-portal", Role::Portal)] {
                let (replicas, cpu, memory) = tshirt(size, role)
                    .ok_or_else(|| format!("helm_resource_profile: unknown size `{size}` (expected small, medium or large)"))?;
                out.push(Component { name: name.into(), role, replicas, cpu: cpu.into(), memory: memory.into() });
            }
        }
        ResourceProfile::Components(sizes) => {
            for size in sizes {
                let name = k8s_name(&size.component);
                if name.is_empty() {
                    return Err(format!("helm_resource_profile: component `{}` has no usable name", size.component));
                }
                if name.len() > 40 {
                    return Err(format!("helm_resource_profile: component name `{name}` is longer than 40 characters"));
                }
                if out.iter().any(|c| c.name == name) {
                    return Err(format!("helm_resource_profile: two components are both named `{name}`"));
                }
                if size.replicas == 0 && role_of(&name) != Role::Other {
                    return Err(format!("helm_resource_profile: `{}` has 0 replicas", size.component));
                }
                out.push(Component {
                    role: role_of(&name),
                    name,
                    replicas: size.replicas,
                    cpu: size.cpu.clone(),
                    memory: size.memory.clone(),
                });
            }
        }
    }
    if !out.iter().any(|c| c.role == Role::Api) {
        return Err("helm_resource_profile: no component runs the API (name one with `api` in it, e.g. `staff-portal-api`)".into());
    }
    Ok(out)
}

/// `registry/path/name:tag` → (`registry/path/name`, `tag`).
pub fn split_ref(image: &str) -> (String, String) {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(colon) => (image[..slash + colon].to_string(), image[slash + colon + 1..].to_string()),
        None => (image.to_string(), "latest".to_string()),
    }
}

/// The services' images: the API from `extension/`, the portal from its own folder.
pub fn image_specs(inputs: &RegistryInputs, registry_path: &str) -> Vec<ImageSpec> {
    vec![
        ImageSpec {
            service: "api".into(),
            dockerfile: "deployment/docker/api/Dockerfile".into(),
            context: "extension".into(),
            image: inputs.image_ref(registry_path, "api"),
        },
        ImageSpec {
            service: "staff-portal".into(),
            dockerfile: "deployment/docker/staff-portal/Dockerfile".into(),
            context: "deployment/docker/staff-portal".into(),
            image: inputs.image_ref(registry_path, "staff-portal"),
        },
    ]
}

fn resources(cpu: &str, memory: &str) -> Y {
    let pair = || map(vec![("cpu", s(cpu)), ("memory", s(memory))]);
    map(vec![("requests", pair()), ("limits", pair())])
}

/// Is a host an API host? Its first label has `api` in its words.
fn api_host(host: &str) -> bool {
    role_of(host.split('.').next().unwrap_or("")) == Role::Api
}

/// Ingress rules: API hosts go to the first API component; every other host to the first
/// portal component, with `/api` and `/health` on it going to the API (same origin).
fn ingress_hosts(hosts: &[String], comps: &[Component]) -> Y {
    let api = comps.iter().find(|c| c.role == Role::Api).map(|c| c.name.as_str());
    let portal = comps.iter().find(|c| c.role == Role::Portal).map(|c| c.name.as_str());
    let path = |p: &str, component: &str| map(vec![("path", s(p)), ("component", s(component))]);
    let mut seen = Vec::new();
    let mut rules = Vec::new();
    for host in hosts {
        if seen.contains(host) {
            continue;
        }
        seen.push(host.clone());
        let paths = match (api_host(host), api, portal) {
            (false, Some(api), Some(portal)) => vec![path("/api", api), path("/health", api), path("/", portal)],
            (_, Some(api), _) => vec![path("/", api)],
            (_, None, Some(portal)) => vec![path("/", portal)],
            (_, None, None) => continue,
        };
        rules.push(map(vec![("host", s(host.as_str())), ("paths", Y::Seq(paths))]));
    }
    Y::Seq(rules)
}

/// The production host names, mapped onto the sandbox domain by their first label.
pub fn sandbox_hosts(inputs: &RegistryInputs) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for host in &inputs.production_domains {
        let first = host.split('.').next().unwrap_or(host);
        let mapped = format!("{first}.{}", inputs.sandbox_domain);
        if !hosts.contains(&mapped) {
            hosts.push(mapped);
        }
    }
    if hosts.is_empty() {
        hosts.push(format!("staff.{}", inputs.sandbox_domain));
    }
    hosts
}

/// (repository, tag)
type ImageRef = (String, String);

/// `values.yaml`.
pub fn values_yaml(inputs: &RegistryInputs, comps: &[Component], images: &[ImageSpec]) -> String {
    let image_of = |service: &str| images.iter().find(|i| i.service == service).map(|i| split_ref(&i.image));
    let mut components = Vec::new();
    for c in comps {
        let (image, env, health, data): (Option<ImageRef>, Vec<Y>, &str, Option<&str>) = match c.role {
            Role::Api => (
                image_of("api"),
                vec![map(vec![("name", s("PORT")), ("value", s(CONTAINER_PORT.to_string()))]), env_var("DATA_DIR", "/data")],
                "/health",
                Some("/data"),
            ),
            // Same origin: the ingress sends `/api` on portal hosts to the API.
            Role::Portal => (image_of("staff-portal"), vec![env_var("API_URL", "")], "/", None),
            Role::Other => (None, Vec::new(), "/", None),
        };
        let (repository, tag) = image.clone().unwrap_or_default();
        let mut entries = vec![
            ("enabled", Y::Bool(image.is_some())),
            ("image", map(vec![("repository", s(repository)), ("tag", s(tag)), ("pullPolicy", s("IfNotPresent"))])),
            ("replicaCount", Y::Int(i64::from(c.replicas))),
            ("containerPort", Y::Int(CONTAINER_PORT)),
            ("healthPath", s(health)),
            ("env", Y::Seq(env)),
            ("resources", resources(&c.cpu, &c.memory)),
        ];
        if let Some(dir) = data {
            entries.push(("dataVolume", s(dir)));
        }
        components.push((c.name.clone(), map(entries)));
    }
    let doc = map(vec![
        ("nameOverride", s("")),
        ("fullnameOverride", s("")),
        ("imagePullSecrets", Y::Seq(Vec::new())),
        ("components", Y::Map(components)),
        (
            "ingress",
            map(vec![
                ("enabled", Y::Bool(!inputs.production_domains.is_empty())),
                ("className", s("")),
                ("annotations", Y::Map(Vec::new())),
                ("tls", Y::Seq(Vec::new())),
                ("hosts", ingress_hosts(&inputs.production_domains, comps)),
            ]),
        ),
    ]);
    format!(
        "# Values of the {} wrapper chart, generated from helm_resource_profile and\n# production_domain_name. Components without an image built by the playbook are disabled.\n{}",
        inputs.chart_name(),
        to_yaml(&doc)
    )
}

fn env_var(name: &str, value: &str) -> Y {
    map(vec![("name", s(name)), ("value", s(value))])
}

/// `values-sandbox.yaml`: the smallest size everywhere, sandbox host names.
pub fn sandbox_values_yaml(inputs: &RegistryInputs, comps: &[Component]) -> String {
    let components = comps
        .iter()
        .map(|c| {
            let (replicas, cpu, memory) = tshirt("small", c.role).unwrap_or((1, "100m", "128Mi"));
            (c.name.clone(), map(vec![("replicaCount", Y::Int(i64::from(replicas))), ("resources", resources(cpu, memory))]))
        })
        .collect();
    let doc = map(vec![
        ("components", Y::Map(components)),
        ("ingress", map(vec![("enabled", Y::Bool(true)), ("hosts", ingress_hosts(&sandbox_hosts(inputs), comps))])),
    ]);
    format!("# Sandbox overrides: the smallest size, hosts under {}.\n{}", inputs.sandbox_domain, to_yaml(&doc))
}

pub fn chart_yaml(inputs: &RegistryInputs) -> String {
    let doc = map(vec![
        ("apiVersion", s("v2")),
        ("name", s(inputs.chart_name())),
        ("description", s(format!("Wrapper chart for {} (generated by the registry playbook)", inputs.registry_name))),
        ("type", s("application")),
        ("version", s("0.1.0")),
        ("appVersion", s(crate::handlers::inputs::IMAGE_TAG)),
    ]);
    to_yaml(&doc)
}

pub fn helpers_tpl(chart: &str) -> String {
    HELPERS.replace("CHART", chart)
}

pub fn deployment_tpl(chart: &str) -> String {
    DEPLOYMENT.replace("CHART", chart)
}

pub fn service_tpl(chart: &str) -> String {
    SERVICE.replace("CHART", chart)
}

pub fn ingress_tpl(chart: &str) -> String {
    INGRESS.replace("CHART", chart)
}

const HELPERS: &str = r#"{{/* Names and labels of the CHART chart. */}}
{{- define "CHART.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "CHART.fullname" -}}
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

{{- define "CHART.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "CHART.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "CHART.selectorLabels" -}}
app.kubernetes.io/name: {{ include "CHART.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ printf "%s-%s" (include "CHART.fullname" $) $name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "CHART.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ $name | quote }}
spec:
  replicas: {{ $c.replicaCount }}
  selector:
    matchLabels:
      {{- include "CHART.selectorLabels" $ | nindent 6 }}
      app.kubernetes.io/component: {{ $name | quote }}
  template:
    metadata:
      labels:
        {{- include "CHART.selectorLabels" $ | nindent 8 }}
        app.kubernetes.io/component: {{ $name | quote }}
    spec:
      {{- with $.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: "{{ $c.image.repository }}:{{ $c.image.tag }}"
          imagePullPolicy: {{ $c.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $c.containerPort }}
              protocol: TCP
          {{- with $c.env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          readinessProbe:
            httpGet:
              path: {{ $c.healthPath }}
              port: http
          livenessProbe:
            httpGet:
              path: {{ $c.healthPath }}
              port: http
            initialDelaySeconds: 10
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          {{- if $c.dataVolume }}
          volumeMounts:
            - name: data
              mountPath: {{ $c.dataVolume }}
          {{- end }}
      {{- if $c.dataVolume }}
      volumes:
        - name: data
          emptyDir: {}
      {{- end }}
{{- end }}
{{- end }}
"#;

const SERVICE: &str = r#"{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ printf "%s-%s" (include "CHART.fullname" $) $name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "CHART.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ $name | quote }}
spec:
  type: ClusterIP
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
  selector:
    {{- include "CHART.selectorLabels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ $name | quote }}
{{- end }}
{{- end }}
"#;

const INGRESS: &str = r#"{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "CHART.fullname" . }}
  labels:
    {{- include "CHART.labels" . | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .Values.ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range .Values.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: Prefix
            backend:
              service:
                name: {{ printf "%s-%s" (include "CHART.fullname" $) .component | trunc 63 | trimSuffix "-" }}
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end }}
"#;

/// A healthcheck command that needs nothing but the image's python3. `CMD-SHELL` with one
/// string: podman 4.3's Docker API splits `CMD` arguments at spaces, so a `CMD` list with a
/// Python one-liner never passes there.
fn healthcheck(url: &str) -> Y {
    map(vec![
        (
            "test",
            Y::Seq(vec![s("CMD-SHELL"), s(format!("python3 -c \"import urllib.request; urllib.request.urlopen('{url}', timeout=3)\""))]),
        ),
        ("interval", s("5s")),
        ("timeout", s("5s")),
        ("retries", Y::Int(24)),
        ("start_period", s("5s")),
    ])
}

/// `docker-compose.sandbox.yaml`: both services from their built images, on loopback.
pub fn compose_yaml(inputs: &RegistryInputs, images: &[ImageSpec]) -> String {
    let image = |service: &str| images.iter().find(|i| i.service == service).map(|i| i.image.clone()).unwrap_or_default();
    let port = CONTAINER_PORT.to_string();
    let api = map(vec![
        ("image", s(image("api"))),
        ("pull_policy", s("never")),
        ("environment", map(vec![("PORT", s(port.as_str())), ("DATA_DIR", s("/data"))])),
        ("ports", Y::Seq(vec![s(format!("127.0.0.1:${{SANDBOX_API_PORT:-18080}}:{port}"))])),
        ("volumes", Y::Seq(vec![s("api-data:/data")])),
        ("healthcheck", healthcheck(&format!("http://127.0.0.1:{port}/health"))),
    ]);
    let portal = map(vec![
        ("image", s(image("staff-portal"))),
        ("pull_policy", s("never")),
        // The browser runs on the host: it reaches the API where compose publishes it.
        ("environment", map(vec![("API_URL", s("http://127.0.0.1:${SANDBOX_API_PORT:-18080}"))])),
        ("ports", Y::Seq(vec![s(format!("127.0.0.1:${{SANDBOX_UI_PORT:-18081}}:{port}"))])),
        // Plain ordering, not `condition: service_healthy`: podman without systemd never runs
        // health timers, so compose would wait forever; deploy_local_sandbox waits for health.
        ("depends_on", Y::Seq(vec![s("api")])),
        ("healthcheck", healthcheck(&format!("http://127.0.0.1:{port}/"))),
    ]);
    // No top-level `name:` (docker-compose 1.x rejects it); the deploy step passes `-p`.
    let doc = map(vec![
        ("services", map(vec![("api", api), ("staff-portal", portal)])),
        ("volumes", map(vec![("api-data", Y::Map(Vec::new()))])),
    ]);
    format!(
        "# The local sandbox of {}: images built by build_images_locally, never pulled or built here.\n{}",
        inputs.registry_name,
        to_yaml(&doc)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_refs() {
        assert_eq!(role_of("staff-portal-api"), Role::Api);
        assert_eq!(role_of("partner-api"), Role::Api);
        assert_eq!(role_of("staff-portal-ui"), Role::Portal);
        assert_eq!(role_of("celery"), Role::Other);
        assert_eq!(role_of("rapid"), Role::Other);
        assert_eq!(split_ref("localhost:5000/g/x-api:develop"), ("localhost:5000/g/x-api".into(), "develop".into()));
        assert_eq!(split_ref("localhost:5000/g/x-api"), ("localhost:5000/g/x-api".into(), "latest".into()));
        assert_eq!(k8s_name("Staff Portal_API"), "staff-portal-api");
        assert_eq!(tshirt("Large", Role::Api), Some((3, "1", "2Gi")));
        assert_eq!(tshirt("huge", Role::Api), None);
    }
}
