#!/usr/bin/env python3
"""Renders and checks the Helm chart; run by .ci/deploy-checks inside its virtualenv.

For every values file:
  1. `helm lint --strict` and a render, both by Helm's own Go engine (helm-python-sdk binds the
     Helm v4 SDK; no helm binary, no cluster);
  2. every rendered object of a built-in kind is validated strictly (no unknown fields) against the
     Kubernetes OpenAPI schemas that kubernetes-validate ships, for the oldest Kubernetes the chart
     supports and the newest one the package knows; the ServiceMonitor (a CRD) against a subset
     schema of monitoring.coreos.com/v1 kept below;
  3. the objects are checked against each other (selectors, named ports, probes, security context,
     mounts, Secret keys, checksum annotation, grace periods);
  4. the rendered config.toml is parsed as TOML and then loaded by the gateway binary itself, with
     the environment the pod gets, so an unknown or invalid setting fails here and not in a cluster.
Then the chart's own TOML writer must round-trip a tricky settings map, values the chart must
refuse must fail with the expected message, and every key in values.yaml must have a comment.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Callable

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "partner-center-gateway"
RELEASE = "pcg"
NAMESPACE = "partner-center"
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion: native preStop sleep) and the
# newest one kubernetes-validate ships schemas for.
KUBE_VERSIONS = ["1.30.0", "1.37.0"]
CRD_GROUPS = ("monitoring.coreos.com/",)
REQUIRED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
# Settings the default values leave for the operator; the gateway must refuse them by name.
INCOMPLETE_DEFAULT_KEYS = {"partner_center.partners", "auth.issuer", "auth.audience", "auth.jwks_url"}

# The part of monitoring.coreos.com/v1 ServiceMonitor the chart can produce, from the Prometheus
# Operator's CRD (field names and types); unknown fields are refused, as the API server would prune them.
RELABEL_CONFIG = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "action": {
            "type": "string",
            "enum": [
                "replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual",
                "dropequal", "DropEqual",
            ],
        },
        "modulus": {"type": "integer"},
        "regex": {"type": "string"},
        "replacement": {"type": "string"},
        "separator": {"type": "string"},
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "targetLabel": {"type": "string"},
    },
}
DURATION = {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array", "items": {"type": "object"}},
    },
}
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "targetLabels": {"type": "array", "items": {"type": "string"}},
                "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                "sampleLimit": {"type": "integer", "minimum": 0},
                "namespaceSelector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "selector": LABEL_SELECTOR,
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "targetPort": {"type": ["string", "integer"]},
                            "path": {"type": "string"},
                            "scheme": {"type": "string", "enum": ["http", "https", "HTTP", "HTTPS"]},
                            "interval": DURATION,
                            "scrapeTimeout": DURATION,
                            "honorLabels": {"type": "boolean"},
                            "honorTimestamps": {"type": "boolean"},
                            "params": {"type": "object"},
                            "relabelings": {"type": "array", "items": RELABEL_CONFIG},
                            "metricRelabelings": {"type": "array", "items": RELABEL_CONFIG},
                        },
                    },
                },
            },
        },
    },
}


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.items.append(message)


def load_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    return helm.values_from_yaml(path.read_text())


def render(values: dict[str, Any]) -> dict[str, str]:
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def lint(values: dict[str, Any], fails: Failures, label: str) -> None:
    report = helm.lint(str(CHART), values, strict=True, namespace=NAMESPACE, kube_version="v" + KUBE_VERSIONS[0])
    for error in report.get("errors") or []:
        fails.check(False, f"{label}: helm lint: {error}")
    for message in report.get("messages") or []:
        severity = message.get("severity", 0)
        text = f"{message.get('path')}: {message.get('error')}"
        if severity >= 2:
            fails.check(False, f"{label}: helm lint: {text}")
        else:
            print(f"  helm lint (info): {text}")


def objects_of(manifests: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    objects = []
    for source, text in sorted(manifests.items()):
        if source.endswith("NOTES.txt") or not text.strip():
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append((source, document))
    return objects


def validate_schemas(objects: list[tuple[str, dict[str, Any]]], fails: Failures, label: str) -> int:
    count = 0
    for source, obj in objects:
        kind = obj.get("kind", "?")
        name = obj.get("metadata", {}).get("name", "?")
        where = f"{label}: {source}: {kind}/{name}"
        if obj.get("apiVersion", "").startswith(CRD_GROUPS):
            if kind != "ServiceMonitor":
                fails.check(False, f"{where}: no schema for this custom resource")
                continue
            errors = sorted(jsonschema.Draft202012Validator(SERVICE_MONITOR_SCHEMA).iter_errors(obj), key=str)
            for error in errors:
                path = ".".join(str(p) for p in error.absolute_path)
                fails.check(False, f"{where}: {path}: {error.message}")
            count += 1
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
                count += 1
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                fails.check(False, f"{where}: Kubernetes {version}: {path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                fails.check(False, f"{where}: Kubernetes {version} has no schema for {obj.get('apiVersion')} {kind}")
    return count


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for number, unit in re.findall(r"(\d+)\s*(ms|s|m|h|d)", text):
        total += int(number) * units[unit]
    return total


def check_objects(
    objects: list[tuple[str, dict[str, Any]]],
    manifests: dict[str, str],
    values: dict[str, Any],
    fails: Failures,
    label: str,
) -> tuple[str, dict[str, str]]:
    """Cross-object checks. Returns the rendered config.toml and the environment the pod gets."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    seen = set()
    for source, obj in objects:
        meta = obj.get("metadata", {})
        key = (obj.get("kind"), meta.get("namespace"), meta.get("name"))
        fails.check(key not in seen, f"{label}: {key} rendered twice")
        seen.add(key)
        by_kind.setdefault(obj["kind"], []).append(obj)
        labels = meta.get("labels") or {}
        for required in REQUIRED_LABELS:
            fails.check(required in labels, f"{label}: {source}: {obj['kind']} lacks label {required}")
        if obj["kind"] != "ServiceMonitor" or not (values.get("serviceMonitor") or {}).get("namespace"):
            fails.check(meta.get("namespace") == NAMESPACE, f"{label}: {source}: namespace is {meta.get('namespace')!r}")

    def one(kind: str) -> dict[str, Any] | None:
        found = by_kind.get(kind, [])
        return found[0] if len(found) == 1 else None

    for kind in ("Deployment", "Service", "ConfigMap", "ServiceAccount"):
        fails.check(len(by_kind.get(kind, [])) == 1, f"{label}: expected one {kind}, got {len(by_kind.get(kind, []))}")
    deployment, service, configmap = one("Deployment"), one("Service"), one("ConfigMap")
    if not (deployment and service and configmap):
        return "", {}

    selector = deployment["spec"]["selector"]["matchLabels"]
    fails.check(
        set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance"},
        f"{label}: Deployment selector must be only name+instance (stable across upgrades), got {selector}",
    )
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    fails.check(all(pod_labels.get(k) == v for k, v in selector.items()), f"{label}: pod labels do not match the selector")
    fails.check(service["spec"]["selector"] == selector, f"{label}: Service selector differs from the Deployment's")

    spec = pod["spec"]
    containers = spec["containers"]
    fails.check(len(containers) == 1, f"{label}: expected one container")
    container = containers[0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    # "metrics": the internal /metrics listener (containerPorts.metrics; the chart's default).
    wanted_ports = {"http", "grpc"} | ({"metrics"} if "metrics" in ports else set())
    fails.check(set(ports) == wanted_ports, f"{label}: container ports {ports}")
    service_ports = {p["name"]: p for p in service["spec"]["ports"]}
    fails.check(set(service_ports) == wanted_ports, f"{label}: Service ports {sorted(service_ports)}")
    for name, port in service_ports.items():
        fails.check(port.get("targetPort") in ports, f"{label}: Service port {name} targets unknown {port.get('targetPort')}")
    fails.check(service_ports.get("grpc", {}).get("appProtocol") == "grpc", f"{label}: Service grpc port lacks appProtocol grpc")

    # Security context, pod and container level.
    psc, csc = spec.get("securityContext", {}), container.get("securityContext", {})
    fails.check(csc.get("readOnlyRootFilesystem") is True, f"{label}: readOnlyRootFilesystem is not true")
    fails.check(csc.get("allowPrivilegeEscalation") is False, f"{label}: allowPrivilegeEscalation is not false")
    fails.check(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{label}: capabilities are not drop [ALL]")
    fails.check(True in (psc.get("runAsNonRoot"), csc.get("runAsNonRoot")), f"{label}: runAsNonRoot is not set")
    fails.check(csc.get("runAsUser", psc.get("runAsUser")) == 10001, f"{label}: runAsUser is not 10001")
    seccomp = csc.get("seccompProfile") or psc.get("seccompProfile") or {}
    fails.check(seccomp.get("type") == "RuntimeDefault", f"{label}: seccompProfile is not RuntimeDefault")
    fails.check(spec.get("enableServiceLinks") is False, f"{label}: enableServiceLinks must be false (GATEWAY_* collisions)")
    fails.check(bool(spec.get("topologySpreadConstraints")), f"{label}: no topologySpreadConstraints")
    for constraint in spec.get("topologySpreadConstraints") or []:
        fails.check(
            constraint.get("labelSelector", {}).get("matchLabels") == selector,
            f"{label}: a topology spread constraint does not select the gateway's pods",
        )
    fails.check("resources" in container and container["resources"].get("requests"), f"{label}: no resource requests")

    # Probes.
    liveness, readiness, startup = (container.get(p) or {} for p in ("livenessProbe", "readinessProbe", "startupProbe"))
    fails.check(liveness.get("httpGet", {}).get("path") == "/livez" and liveness["httpGet"].get("port") == "http",
                f"{label}: liveness probe is not HTTP /livez on http")
    fails.check(readiness.get("httpGet", {}).get("path") == "/readyz" and readiness["httpGet"].get("port") == "http",
                f"{label}: readiness probe is not HTTP /readyz on http")
    grpc_probes = [p for p in (liveness, readiness, startup) if "grpc" in p]
    fails.check(len(grpc_probes) == 1 and grpc_probes[0]["grpc"].get("port") == ports.get("grpc"),
                f"{label}: no native gRPC probe on the grpc container port")

    # Volumes and mounts.
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    for mount in mounts.values():
        fails.check(mount["name"] in volumes, f"{label}: mount {mount['mountPath']} uses unknown volume {mount['name']}")
        fails.check("subPath" not in mount, f"{label}: {mount['mountPath']} uses subPath (Secret/ConfigMap updates would never arrive)")
    tmp = mounts.get("/tmp")
    fails.check(tmp is not None and "emptyDir" in volumes.get(tmp["name"], {}), f"{label}: /tmp is not an emptyDir")

    env = {e["name"]: e for e in container.get("env", [])}
    config_path = env.get("GATEWAY_CONFIG", {}).get("value", "")
    config_mount = mounts.get(os.path.dirname(config_path))
    fails.check(
        config_mount is not None
        and volumes.get(config_mount["name"], {}).get("configMap", {}).get("name") == configmap["metadata"]["name"],
        f"{label}: GATEWAY_CONFIG={config_path!r} is not in the mounted ConfigMap",
    )
    config_text = configmap.get("data", {}).get(os.path.basename(config_path), "")
    fails.check(bool(config_text), f"{label}: ConfigMap has no {os.path.basename(config_path)}")

    # Checksum annotation: the rendered ConfigMap, as Helm hashed it.
    annotations = pod["metadata"].get("annotations") or {}
    configmap_source = next(s for s, o in objects if o is configmap)
    fails.check(
        annotations.get("checksum/config") == hashlib.sha256(manifests[configmap_source].encode()).hexdigest(),
        f"{label}: checksum/config does not match the rendered ConfigMap",
    )

    # Page-token secret: from a Secret, and a chart-made Secret must hold the key.
    paging = env.get("GATEWAY_PAGING__TOKEN_SECRET", {}).get("valueFrom", {}).get("secretKeyRef")
    fails.check(paging is not None, f"{label}: GATEWAY_PAGING__TOKEN_SECRET is not from a Secret")
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    if paging and paging["name"] in secrets:
        fails.check(paging["key"] in (secrets[paging["name"]].get("data") or {}), f"{label}: chart Secret lacks {paging['key']}")

    # The config file.
    try:
        settings = tomllib.loads(config_text)
    except tomllib.TOMLDecodeError as error:
        fails.check(False, f"{label}: config.toml is not TOML: {error}")
        return config_text, {}
    fails.check(settings.get("environment") == "production", f"{label}: environment is not production")
    fails.check(settings.get("log", {}).get("format") == "json", f"{label}: log.format is not json")
    rest_listen = settings.get("rest", {}).get("listen", "")
    grpc_listen = settings.get("grpc", {}).get("listen", "")
    fails.check(rest_listen.endswith(f":{ports.get('http')}"), f"{label}: rest.listen {rest_listen!r} is not the http port")
    fails.check(grpc_listen.endswith(f":{ports.get('grpc')}"), f"{label}: grpc.listen {grpc_listen!r} is not the grpc port")
    metrics_listen = settings.get("metrics", {}).get("listen")
    if ports.get("metrics"):
        fails.check(bool(metrics_listen) and metrics_listen.endswith(f":{ports['metrics']}"),
                    f"{label}: metrics.listen {metrics_listen!r} is not the metrics port")
    else:
        fails.check(metrics_listen is None, f"{label}: metrics.listen {metrics_listen!r} without a metrics port")
    if monitor := one("ServiceMonitor"):
        wanted = "metrics" if ports.get("metrics") else "http"
        for endpoint in monitor["spec"]["endpoints"]:
            fails.check(endpoint.get("port") == wanted, f"{label}: ServiceMonitor scrapes {endpoint.get('port')}, not {wanted}")
    for name, expected in (
        ("GATEWAY_REST__LISTEN", rest_listen),
        ("GATEWAY_GRPC__LISTEN", grpc_listen),
        ("GATEWAY_METRICS__LISTEN", metrics_listen),
        ("GATEWAY_ENVIRONMENT", settings.get("environment")),
    ):
        fails.check(env.get(name, {}).get("value", expected) == expected, f"{label}: env {name} disagrees with config.toml")
    grace = parse_duration(settings.get("rest", {}).get("shutdown_grace", "25s"))
    pre_stop = (container.get("lifecycle", {}).get("preStop", {}).get("sleep") or {}).get("seconds", 0)
    termination = spec.get("terminationGracePeriodSeconds", 30)
    fails.check(termination > grace + pre_stop, f"{label}: terminationGracePeriodSeconds {termination} <= preStop {pre_stop} + shutdown_grace {grace}")

    # Partner credential files must be projected Secret items under a read-only mount.
    projected_files = {}
    for mount_path, mount in mounts.items():
        volume = volumes.get(mount["name"], {})
        for source in volume.get("projected", {}).get("sources", []):
            secret = source.get("secret")
            if secret:
                for item in secret.get("items", []):
                    projected_files[f"{mount_path}/{item['path']}"] = (secret["name"], item["key"], mount.get("readOnly"))
        if "secret" in volume:
            fails.check(False, f"{label}: use the projected partner-credentials volume")
    partners = settings.get("partner_center", {}).get("partners", [])
    fails.check(len(partners) == len(values.get("partners") or []), f"{label}: partners in config.toml differ from values")
    for partner in partners:
        for field in ("client_secret_file", "refresh_token_file"):
            path = partner.get(field)
            if path is None:
                continue
            found = projected_files.get(path)
            fails.check(found is not None and found[2] is True, f"{label}: {partner['id']}.{field} {path} is not a read-only projected Secret file")
            if found and found[0] in secrets:
                fails.check(found[1] in (secrets[found[0]].get("data") or {}), f"{label}: chart Secret lacks {found[1]}")
        fails.check("client_secret" not in partner and "refresh_token" not in partner, f"{label}: inline partner secret in the ConfigMap")

    # Redis: the URL (with its password) and the sealing key are read-only projected Secret files.
    redis = settings.get("redis", {})
    redis_values = values.get("redis") or {}
    fails.check("url" not in redis, f"{label}: the Redis URL is in the ConfigMap")
    if redis_values.get("existingSecret"):
        for field, key in (
            ("url_file", redis_values.get("urlKey")),
            ("encryption_key_file", redis_values.get("encryptionKeyKey")),
            ("tls_ca_file", redis_values.get("tlsCaKey")),
        ):
            if not key:
                fails.check(field not in redis, f"{label}: redis.{field} without a Secret key")
                continue
            found = projected_files.get(redis.get(field, ""))
            fails.check(found is not None and found[2] is True and found[:2] == (redis_values["existingSecret"], key),
                        f"{label}: redis.{field} {redis.get(field)} is not the read-only projected Secret item {key}")
        hpa_on = (values.get("autoscaling") or {}).get("enabled")
        fails.check(isinstance(redis.get("expected_replicas"), int) and redis["expected_replicas"] >= 1,
                    f"{label}: redis.expected_replicas {redis.get('expected_replicas')!r} (HPA on: {hpa_on})")
    else:
        fails.check(not redis.get("url_file"), f"{label}: redis.url_file without redis.existingSecret")

    # Optional objects point at the right things.
    hpa, pdb, monitor, policy = one("HorizontalPodAutoscaler"), one("PodDisruptionBudget"), one("ServiceMonitor"), one("NetworkPolicy")
    if hpa:
        target = hpa["spec"]["scaleTargetRef"]
        fails.check(target["kind"] == "Deployment" and target["name"] == deployment["metadata"]["name"], f"{label}: HPA targets {target}")
        fails.check("replicas" not in deployment["spec"], f"{label}: Deployment sets replicas while the HPA owns them")
    if pdb:
        fails.check(pdb["spec"]["selector"]["matchLabels"] == selector, f"{label}: PDB selector differs from the Deployment's")
    if monitor:
        service_labels = service["metadata"]["labels"]
        wanted = monitor["spec"]["selector"]["matchLabels"]
        fails.check(all(service_labels.get(k) == v for k, v in wanted.items()), f"{label}: ServiceMonitor does not select the Service")
        for endpoint in monitor["spec"]["endpoints"]:
            fails.check(endpoint.get("port") in service_ports, f"{label}: ServiceMonitor scrapes unknown port {endpoint.get('port')}")
            fails.check(endpoint.get("path") == "/metrics", f"{label}: ServiceMonitor path {endpoint.get('path')}")
        names = monitor["spec"].get("namespaceSelector", {}).get("matchNames", [])
        fails.check(NAMESPACE in names, f"{label}: ServiceMonitor does not look in {NAMESPACE}")
    if policy:
        fails.check(policy["spec"]["podSelector"]["matchLabels"] == selector, f"{label}: NetworkPolicy selects other pods")
        for rule in policy["spec"].get("ingress", []):
            for port in rule.get("ports", []):
                fails.check(port["port"] in ports or port["port"] in ports.values(), f"{label}: NetworkPolicy allows unknown port {port['port']}")
        egress_ports = {p.get("port") for rule in policy["spec"].get("egress", []) for p in rule.get("ports", [])}
        fails.check({53, 443} <= egress_ports, f"{label}: NetworkPolicy egress lacks DNS or HTTPS ({egress_ports})")

    # The environment the gateway process gets (literal values; Secret refs get a stand-in).
    pod_env = {}
    for name, entry in env.items():
        if "value" in entry:
            pod_env[name] = entry["value"]
        elif name == "GATEWAY_PAGING__TOKEN_SECRET":
            pod_env[name] = "ci-stand-in-page-token-secret-of-at-least-32-bytes"
    return config_text, pod_env


def gateway_loads(binary: Path, config_text: str, pod_env: dict[str, str], label: str, expect_complete: bool, fails: Failures) -> None:
    """Loads the rendered settings with the gateway itself: `dev-token` loads and validates every
    setting, then prints a token (discarded) without opening a socket or calling out."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(config_text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(pod_env)
        env["GATEWAY_CONFIG"] = str(config)
        result = subprocess.run([str(binary), "dev-token"], env=env, capture_output=True, text=True, timeout=60)
    if result.returncode == 0:
        print(f"  gateway: {label} settings load and validate")
        return
    message = result.stderr.strip()
    match = re.search(r"invalid setting ([^\s:]+):", message)
    if not expect_complete and match and match.group(1) in INCOMPLETE_DEFAULT_KEYS:
        print(f"  gateway: {label} settings parse; the gateway asks for what the operator must add: {message}")
        return
    fails.check(False, f"{label}: the gateway refuses the rendered settings: {message}")


def expect_refusal(values: dict[str, Any], needle: str, fails: Failures, what: str) -> None:
    try:
        render(values)
    except helm.HelmError as error:
        fails.check(needle in str(error), f"refusal '{what}': failed, but without {needle!r}: {error}")
        print(f"  refused as expected: {what}")
        return
    fails.check(False, f"refusal '{what}': the chart rendered values it must refuse")


def refusals(production: dict[str, Any], fails: Failures) -> None:
    def variant(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        values = copy.deepcopy(production)
        change(values)
        return values

    expect_refusal(variant(lambda v: v["config"].setdefault("rest", {}).update(listen="0.0.0.0:1")),
                   "set by the chart", fails, "config.rest.listen set by hand")
    expect_refusal(variant(lambda v: v["config"].setdefault("paging", {}).update(token_secret="x" * 40)),
                   "must not be in the ConfigMap", fails, "page-token secret in the ConfigMap")
    expect_refusal(variant(lambda v: v["config"].setdefault("redis", {}).update(url="redis://:pw@redis:6379")),
                   "set by the chart from redis.existingSecret", fails, "Redis URL in the ConfigMap")
    expect_refusal(variant(lambda v: v.update(credentials={"existingSecret": ""})),
                   "give clientSecret", fails, "partner without any credential source")
    expect_refusal(variant(lambda v: v.update(terminationGracePeriodSeconds=20)),
                   "must exceed", fails, "termination grace below the drain time")
    expect_refusal(variant(lambda v: v["partners"].append(dict(v["partners"][0]))),
                   "listed twice", fails, "duplicate partner id")
    expect_refusal(variant(lambda v: v["partners"][0].update(id="Contoso_EU")),
                   "lowercase", fails, "partner id unusable as a file/key name")


def toml_roundtrip(production: dict[str, Any], fails: Failures) -> None:
    """The chart writes TOML with a template of its own: what goes in must come back out."""
    sample = {
        "integers": {"small": 3, "zero": 0, "negative": -7, "large": 12345678901},
        "floats": {"quarter": 0.25, "negative": -1.5},
        "flags": {"yes": True, "no": False},
        "strings": {"plain": "info", "quotes": 'say "hi" \\ back', "lines": "a\nb\tc", "html": "<a&b>", "unicode": "Zürich ✓", "empty": ""},
        "dotted.key": {"with space": "x"},
        "lists": {"empty": [], "scalars": ["a", 1, True], "nested": [[1, 2], ["x"]], "mixed": [{"k": 1}, "s"]},
        "tables": [
            {"id": "one", "limits": {"rps": 5}, "rules": [{"path": "/a"}, {"path": "/b"}]},
            {"id": "two", "empty": {}},
        ],
        "dropped": None,
    }
    values = copy.deepcopy(production)
    values["config"]["zz_roundtrip"] = copy.deepcopy(sample)
    expected = copy.deepcopy(sample)
    del expected["dropped"]
    try:
        manifests = render(values)
    except helm.HelmError as error:
        fails.check(False, f"TOML round trip: render failed: {error}")
        return
    configmap = next(o for _, o in objects_of(manifests) if o["kind"] == "ConfigMap")
    try:
        parsed = tomllib.loads(configmap["data"]["config.toml"])
    except tomllib.TOMLDecodeError as error:
        fails.check(False, f"TOML round trip: not TOML: {error}")
        return
    got = parsed.get("zz_roundtrip")
    # JSON tells 1 from 1.0 and from true, which == does not.
    same = json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    fails.check(same, f"TOML round trip: wrote {expected!r}, read back {got!r}")
    if same:
        print("  TOML writer: integers, floats, strings, nested tables and arrays of tables round-trip")


def values_comments(path: Path, fails: Failures) -> None:
    """Every value in values.yaml is documented: a comment right above its key, or above an
    enclosing key. A section header (a key holding only nested keys) needs none of its own, but
    then each key inside it does."""
    lines = path.read_text().splitlines()
    key_line = re.compile(r"^(\s*)(- +)?([A-Za-z0-9_.\-/]+|\"[^\"]+\"):(\s|$)")
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    for number, line in enumerate(lines, 1):
        match = key_line.match(line)
        if not match:
            continue
        indent = len(match.group(1)) + len(match.group(2) or "")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        previous = lines[number - 2].strip() if number > 1 else ""
        documented = previous.startswith("#") or any(doc for _, doc in stack)
        following = next((l for l in lines[number:] if l.strip() and not l.strip().startswith("#")), "")
        header = line.rstrip().endswith(":") and len(following) - len(following.lstrip()) > indent \
            and not following.lstrip().startswith("- ")
        fails.check(documented or header, f"{path.relative_to(ROOT)}:{number}: `{match.group(3)}` has no comment")
        stack.append((indent, documented))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", type=Path, help="gateway binary used to load the rendered settings")
    parser.add_argument("--out", type=Path, required=True, help="directory for the rendered manifests")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    fails = Failures()
    print(f"  renderer: Helm SDK {helm.helm_sdk_version()} (helm-python-sdk, libhelm_c {helm.helm_c_version()})")

    values_comments(CHART / "values.yaml", fails)

    production_file = CHART / "ci" / "production-values.yaml"
    cases = [("default values", None, False), ("ci/production-values.yaml", production_file, True)]
    for label, path, complete in cases:
        values = load_values(path)
        lint(values, fails, label)
        try:
            manifests = render(values)
        except helm.HelmError as error:
            fails.check(False, f"{label}: render failed: {error}")
            continue
        out = args.out / (("production" if path else "default") + ".yaml")
        out.write_text("".join(f"---\n# Source: {s}\n{t.strip()}\n" for s, t in sorted(manifests.items())
                               if not s.endswith("NOTES.txt") and t.strip()))
        objects = objects_of(manifests)
        kinds = sorted({o["kind"] for _, o in objects})
        validated = validate_schemas(objects, fails, label)
        config_text, pod_env = check_objects(objects, manifests, values, fails, label)
        print(f"  {label}: {len(objects)} objects ({', '.join(kinds)}), {validated} schema validations "
              f"(Kubernetes {' and '.join(KUBE_VERSIONS)}), rendered to {out}")
        if args.gateway and config_text:
            gateway_loads(args.gateway, config_text, pod_env, label, complete, fails)

    toml_roundtrip(load_values(production_file), fails)
    refusals(load_values(production_file), fails)

    for failure in fails.items:
        print(f"FAIL {failure}")
    return 1 if fails.items else 0


if __name__ == "__main__":
    sys.exit(main())
