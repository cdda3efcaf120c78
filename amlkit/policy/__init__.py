"""The pack's 26 rules: 1-25 in the order of ../shared/reference/policy-rules.md, then
amlkit's own (26, safe rollout).

Importable without starting anything: `policy/__main__.py` builds the PolicyPack
(which starts the analyzer's gRPC server), `amlkit plan` runs these same objects
over the offline plan.
"""

from __future__ import annotations

from pulumi_policy import Policy

from .base import NotApplicable, Problem, ResourceRule, StackRule
from .baseline import (
    acr_admin_disabled,
    compute_local_auth,
    key_vault_recoverable,
    storage_no_public_or_key_access,
)
from .compute import aks_hardened, compute_cost_network
from .deployments import (
    deployment_capacity,
    deployment_probes,
    image_pinned,
    kubernetes_hardened,
    model_source,
)
from .endpoints import endpoint_token_auth, names
from .governance import governance, stateful_protected
from .identity import iam_least_privilege
from .monitoring import log_retention, monitoring_wired
from .network import acr_network_restricted, workspace_network_isolation, workspace_public_access
from .secrets import secrets_not_plaintext
from .traffic import (
    delete_live_traffic,
    endpoint_mirror_traffic,
    endpoint_safe_rollout,
    endpoint_traffic,
)

Rule = ResourceRule | StackRule

RULES: list[Rule] = [
    endpoint_traffic,  # 1 AML-EP-TRAFFIC
    endpoint_mirror_traffic,  # 2 AML-EP-MIRROR
    delete_live_traffic,  # 3 AML-DEP-DELETE-LIVE
    names,  # 4 AML-NAMES
    workspace_public_access,  # 5 AML-WS-PUBLIC
    workspace_network_isolation,  # 6 AML-WS-ISOLATION
    endpoint_token_auth,  # 7 AML-EP-AUTH
    compute_local_auth,  # 8 AML-COMPUTE-LOCALAUTH
    acr_admin_disabled,  # 9 ACR-ADMIN
    iam_least_privilege,  # 10 IAM-LEAST-PRIV
    key_vault_recoverable,  # 11 KV-RECOVERABLE
    storage_no_public_or_key_access,  # 12 ST-PUBLIC-AUTH
    image_pinned,  # 13 IMG-PINNED
    deployment_probes,  # 14 AML-DEP-PROBES
    deployment_capacity,  # 15 AML-DEP-CAPACITY
    monitoring_wired,  # 16 MON-WIRED
    log_retention,  # 17 MON-RETENTION
    compute_cost_network,  # 18 AML-COMPUTE-COST-NET
    acr_network_restricted,  # 19 ACR-NETWORK
    stateful_protected,  # 20 STATE-PROTECT
    secrets_not_plaintext,  # 21 SECRETS-NO-PLAINTEXT
    aks_hardened,  # 22 AKS-HARDEN
    kubernetes_hardened,  # 23 K8S-POD-HARDEN
    model_source,  # 24 AML-MODEL-SOURCE
    governance,  # 25 GOV-LOCATION-TAGS-IDENTITY
    endpoint_safe_rollout,  # 26 amlkit: safe rollout (README)
]

POLICIES: list[Policy] = list(RULES)
"""What the PolicyPack is given."""

BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}

__all__ = [
    "BY_NAME",
    "POLICIES",
    "RULES",
    "NotApplicable",
    "Problem",
    "ResourceRule",
    "Rule",
    "StackRule",
]
