"""Static checks of the deployment files in deploy/ (no docker or cluster needed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"

# Files under deploy/k8s that are not applied by kustomize.
KUSTOMIZATION = "kustomization.yaml"
NOT_IN_KUSTOMIZATION = {KUSTOMIZATION, "secret.example.yaml"}

APP_PORT = 8000


def _all_yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def _k8s_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION)


def _docs(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert docs, f"{path} holds no YAML document"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"
    return docs


def _k8s_objects(kind: str | None = None) -> list[tuple[Path, dict[str, Any]]]:
    out = [(p, d) for p in _k8s_files() for d in _docs(p)]
    return [(p, d) for p, d in out if kind is None or d.get("kind") == kind]


def _deployments() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _k8s_objects("Deployment")}


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------------- all YAML


def test_deploy_files_exist() -> None:
    expected = [
        DOCKERFILE,
        COMPOSE,
        DEPLOY / "README.md",
        *(
            K8S / name
            for name in (
                "namespace.yaml",
                "configmap.yaml",
                "secret.example.yaml",
                "api-deployment.yaml",
                "api-service.yaml",
                "worker-deployment.yaml",
                "migrate-job.yaml",
                KUSTOMIZATION,
            )
        ),
    ]
    missing = [str(p.relative_to(DEPLOY)) for p in expected if not p.is_file()]
    assert not missing, f"missing deploy files: {missing}"


@pytest.mark.parametrize("path", _all_yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    _docs(path)


# --------------------------------------------------------------------------------- kubernetes


@pytest.mark.parametrize("path", _k8s_files(), ids=lambda p: p.name)
def test_k8s_docs_have_identity(path: Path) -> None:
    for doc in _docs(path):
        assert doc.get("apiVersion"), f"{path.name}: missing apiVersion"
        assert doc.get("kind"), f"{path.name}: missing kind"
        assert (doc.get("metadata") or {}).get("name"), f"{path.name}: missing metadata.name"


def test_namespaced_objects_share_the_namespace() -> None:
    kust = _docs(K8S / KUSTOMIZATION)[0]
    namespace = kust["namespace"]
    (ns,) = [d for _, d in _k8s_objects("Namespace")]
    assert ns["metadata"]["name"] == namespace
    for path, doc in _k8s_objects():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == namespace, path.name


def test_kustomization_lists_exactly_the_manifests() -> None:
    kust = _docs(K8S / KUSTOMIZATION)[0]
    assert kust["kind"] == "Kustomization"
    resources = kust["resources"]
    assert len(resources) == len(set(resources)), "duplicate kustomization resources"
    on_disk = {p.name for p in K8S.iterdir() if p.suffix in {".yaml", ".yml"}}
    assert set(resources) == on_disk - NOT_IN_KUSTOMIZATION
    # The example Secret holds placeholders: applying it would clobber the real one.
    assert "secret.example.yaml" not in resources


def test_expected_kinds_present() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in _k8s_objects()}
    for expected in [
        ("Namespace", "marketplace"),
        ("ConfigMap", "marketplace-config"),
        ("Secret", "marketplace-secrets"),
        ("Deployment", "marketplace-api"),
        ("Deployment", "marketplace-worker"),
        ("Service", "marketplace-api"),
        ("Job", "marketplace-migrate"),
        ("HorizontalPodAutoscaler", "marketplace-api"),
        ("PodDisruptionBudget", "marketplace-api"),
        ("PodDisruptionBudget", "marketplace-worker"),
        ("NetworkPolicy", "marketplace-default-deny-ingress"),
        ("NetworkPolicy", "marketplace-api-ingress"),
    ]:
        assert expected in kinds


def test_the_api_scales_on_cpu_from_two_pods() -> None:
    (hpa,) = [d for _, d in _k8s_objects("HorizontalPodAutoscaler")]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "marketplace-api",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"


def test_disruption_budgets_keep_a_pod_of_each_deployment() -> None:
    deployments = _deployments()
    budgets = {d["metadata"]["name"]: d for _, d in _k8s_objects("PodDisruptionBudget")}
    for name in ("marketplace-api", "marketplace-worker"):
        selector = deployments[name]["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == selector
        assert budgets[name]["spec"]["minAvailable"] == 1
        assert _least_replicas(name) > 1  # else a drain could never proceed


def test_ingress_is_denied_except_to_the_api_port() -> None:
    policies = {d["metadata"]["name"]: d["spec"] for _, d in _k8s_objects("NetworkPolicy")}
    deny = policies["marketplace-default-deny-ingress"]
    assert deny["podSelector"] == {}
    assert deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny
    api = policies["marketplace-api-ingress"]
    selector = _deployments()["marketplace-api"]["spec"]["selector"]["matchLabels"]
    assert api["podSelector"]["matchLabels"] == selector
    assert [p["port"] for rule in api["ingress"] for p in rule["ports"]] == [APP_PORT]


def test_the_worker_is_live_while_its_own_heartbeat_is() -> None:
    container = _container(_deployments()["marketplace-worker"])
    probe = container["livenessProbe"]
    assert probe["exec"]["command"] == ["marketplace", "worker-health", "--this-host"]
    # Three heartbeat intervals (5 s) fit well inside one probe period.
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 60


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = _pod_spec(obj)["containers"]
    assert len(containers) == 1
    return containers[0]


def _resolve_port(container: dict[str, Any], port: int | str) -> int:
    by_name = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    return by_name[port] if isinstance(port, str) else port


def _least_replicas(name: str) -> int:
    """A deployment's pods at the least: the autoscaler's minimum where one scales it."""
    hpas = [d for _, d in _k8s_objects("HorizontalPodAutoscaler")]
    scaled = [h for h in hpas if h["spec"]["scaleTargetRef"]["name"] == name]
    if scaled:
        return int(scaled[0]["spec"]["minReplicas"])
    return int(_deployments()[name]["spec"]["replicas"])


def test_an_autoscaled_deployment_leaves_its_count_to_the_autoscaler() -> None:
    """A `replicas` in the manifest would reset the autoscaler's count on every apply."""
    deployments = _deployments()
    for _, hpa in _k8s_objects("HorizontalPodAutoscaler"):
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"]


def test_api_deployment_probes_and_replicas() -> None:
    api = _deployments()["marketplace-api"]
    assert _least_replicas("marketplace-api") == 2
    container = _container(api)
    ports = [p["containerPort"] for p in container["ports"]]
    assert ports == [APP_PORT]
    assert container["command"][:2] == ["marketplace", "serve"]

    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    assert readiness["path"] == "/readyz"
    assert liveness["path"] == "/livez"
    assert _resolve_port(container, readiness["port"]) == APP_PORT
    assert _resolve_port(container, liveness["port"]) == APP_PORT
    if "startupProbe" in container:
        startup = container["startupProbe"]["httpGet"]
        assert startup["path"] == "/livez"
        assert _resolve_port(container, startup["port"]) == APP_PORT


def test_api_service_targets_the_container_port() -> None:
    api = _deployments()["marketplace-api"]
    container = _container(api)
    (svc,) = [d for _, d in _k8s_objects("Service") if d["metadata"]["name"] == "marketplace-api"]
    assert svc["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    for port in svc["spec"]["ports"]:
        assert _resolve_port(container, port["targetPort"]) == APP_PORT


def test_worker_has_no_http_probes() -> None:  # its liveness is an exec probe
    worker = _deployments()["marketplace-worker"]
    container = _container(worker)
    assert container["command"] == ["marketplace", "worker"]
    assert not container.get("ports")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert "httpGet" not in container.get(probe, {}), f"worker {probe} uses HTTP"


def test_migrate_job_runs_migrate() -> None:
    (job,) = [d for _, d in _k8s_objects("Job")]
    container = _container(job)
    assert container["command"] == ["marketplace", "migrate"]
    assert _pod_spec(job)["restartPolicy"] in {"Never", "OnFailure"}


def _workloads() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{d['kind']}/{d['metadata']['name']}", d)
        for _, d in _k8s_objects()
        if d["kind"] in {"Deployment", "Job"}
    ]


@pytest.mark.parametrize("name_obj", _workloads(), ids=lambda x: x[0])
def test_workloads_are_hardened_and_configured(name_obj: tuple[str, dict[str, Any]]) -> None:
    name, obj = name_obj
    pod = _pod_spec(obj)
    assert pod["securityContext"]["runAsNonRoot"] is True, name
    assert pod["securityContext"].get("runAsUser", 0) != 0, name
    container = _container(obj)
    assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
    resources = container["resources"]
    assert resources["requests"]["cpu"], name
    assert resources["requests"]["memory"], name
    assert resources["limits"]["memory"], name
    env_from = container["envFrom"]
    assert {"configMapRef": {"name": "marketplace-config"}} in env_from, name
    assert {"secretRef": {"name": "marketplace-secrets"}} in env_from, name
    assert container["image"].split(":")[0] == "marketplace", name


def test_secrets_are_not_in_the_configmap() -> None:
    (cm,) = [d for _, d in _k8s_objects("ConfigMap")]
    data = cm["data"]
    for key in ("DATABASE_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"):
        assert key not in data
    assert data["MARKETPLACE_ENV"] == "production"
    assert data["REDIS_URL"].startswith("redis://")
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings"


def test_secret_example_has_placeholders_only() -> None:
    (secret,) = [d for _, d in _k8s_objects("Secret")]
    values = secret["stringData"]
    assert set(values) == {"DATABASE_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"}
    for key, value in values.items():
        assert "REPLACE" in value, f"{key} must be a placeholder"
        assert not re.search(r"\b(sk|rk|whsec)_(live|test)_", value), key


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_renders() -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(out) if d)
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "Namespace",
        "NetworkPolicy",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "PodDisruptionBudget",
        "Service",
    ]


# --------------------------------------------------------------------------------- compose


def test_compose_services() -> None:
    services = _compose()["services"]
    assert {"api", "worker", "migrate", "postgres", "redis"} <= set(services)


def test_compose_dependency_order() -> None:
    services = _compose()["services"]
    api_deps = services["api"]["depends_on"]
    assert api_deps["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_and_images() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["marketplace", "migrate"]
    assert services["worker"]["command"] == ["marketplace", "worker"]
    assert services["api"]["command"][:2] == ["marketplace", "serve"]
    assert services["migrate"]["restart"] == "no"
    assert services["postgres"]["image"] == "postgres:18"
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("api", "worker", "migrate"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile", name


def test_compose_healthchecks() -> None:
    services = _compose()["services"]
    assert "pg_isready" in json.dumps(services["postgres"]["healthcheck"]["test"])
    assert "/readyz" in json.dumps(services["api"]["healthcheck"]["test"])
    assert any(str(p).split(":")[-1] == str(APP_PORT) for p in services["api"]["ports"])
    # The image's HEALTHCHECK probes HTTP /livez, which the worker does not serve.
    assert services["worker"]["healthcheck"].get("disable") is True


def test_compose_redis_persists_jobs() -> None:
    redis = _compose()["services"]["redis"]
    command = redis["command"]
    command = command if isinstance(command, list) else command.split()
    i = command.index("--appendonly")
    assert command[i + 1] == "yes"
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_compose_postgres_has_volume() -> None:
    postgres = _compose()["services"]["postgres"]
    # postgres:18 stores data under /var/lib/postgresql/18/...; mount the parent.
    assert any(v.split(":")[1] == "/var/lib/postgresql" for v in postgres["volumes"])


def test_compose_env_is_shared_and_secrets_have_no_defaults() -> None:
    data = _compose()
    anchors = [k for k in data if k.startswith("x-")]
    assert anchors, "expected an x- extension block for the shared environment"
    services = data["services"]
    envs = {name: services[name]["environment"] for name in ("api", "worker", "migrate")}
    for name, env in envs.items():
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert env["REDIS_URL"].startswith("redis://"), name
        assert env["MARKETPLACE_ENV"] == "production", name
        for key in ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"):
            # Interpolated from the environment; `:-default`/`-default` would be a default.
            assert re.fullmatch(r"\$\{" + key + r"(:?\?[^}]*)?\}", env[key]), (name, key)
    assert envs["worker"]["DATABASE_URL"] == envs["api"]["DATABASE_URL"]
    # The raw text uses the anchor rather than repeating the environment per service.
    assert "*app-env" in COMPOSE.read_text()


# --------------------------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    logical: list[str] = []
    buf = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    if buf:
        logical.append(buf)
    out = []
    for line in logical:
        instr, _, args = line.partition(" ")
        out.append((instr.upper(), args.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    instrs = _dockerfile_instructions()
    last_from = max(i for i, (instr, _) in enumerate(instrs) if instr == "FROM")
    return instrs[last_from:]


def test_dockerfile_is_multistage_python311_slim() -> None:
    instrs = _dockerfile_instructions()
    args = dict(
        a.split("=", 1) for instr, a in instrs if instr == "ARG" and "=" in a
    )  # ARG NAME=default
    froms = [a.split()[0] for instr, a in instrs if instr == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build"
    resolved = [args.get(f.strip("${}"), f) if f.startswith("$") else f for f in froms]
    assert all(img == "python:3.11-slim" for img in resolved), resolved


def test_dockerfile_installs_from_the_lock_with_uv() -> None:
    instrs = _dockerfile_instructions()
    copies = " ".join(a for instr, a in instrs if instr == "COPY")
    assert "uv.lock" in copies
    runs = [a for instr, a in instrs if instr == "RUN"]
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs, "expected `uv sync`"
    for run in syncs:
        assert "--frozen" in run or "--locked" in run, run
        assert "--no-dev" in run, run


def test_dockerfile_runs_as_non_root() -> None:
    users = [a for instr, a in _final_stage() if instr == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0", ""}
    # Numeric, so Kubernetes runAsNonRoot can verify it; matches the manifests.
    assert user.isdigit()
    for name, obj in _workloads():
        assert _pod_spec(obj)["securityContext"]["runAsUser"] == int(user), name


def test_dockerfile_exposes_port_and_checks_livez() -> None:
    final = _final_stage()
    exposed = {p.split("/")[0] for instr, a in final if instr == "EXPOSE" for p in a.split()}
    assert str(APP_PORT) in exposed
    (healthcheck,) = [a for instr, a in final if instr == "HEALTHCHECK"]
    assert "/livez" in healthcheck
    assert "python" in healthcheck
    assert "curl" not in healthcheck


def test_dockerfile_cmd_uses_marketplace_cli() -> None:
    cmds = [a for instr, a in _final_stage() if instr == "CMD"]
    assert cmds, "the runtime stage must set CMD"
    cmd = json.loads(cmds[-1])  # exec form, so signals reach the app directly
    all_interfaces = "0.0.0.0"  # noqa: S104 - the container must listen on all interfaces
    assert cmd == ["marketplace", "serve", "--host", all_interfaces, "--port", str(APP_PORT)]
    assert not [a for instr, a in _final_stage() if instr == "ENTRYPOINT"]
