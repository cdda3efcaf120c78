"""The policy pack as Pulumi's policy runtime starts it (`python -m pulumi.policy`).

Only assembles the pack: the rules live in `amlkit.policy`. Constructing PolicyPack
starts the analyzer's gRPC server, prints its port and serves until stopped.
"""

import sys
from pathlib import Path

# The runtime runs this file from policy/; from a checkout without `pip install .`,
# `amlkit` imports from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from amlkit.policy import POLICIES

PolicyPack(
    name="amlkit",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="amlkit's pre-deploy checks for Azure ML endpoints, deployments, compute, "
    "the workspace and its neighbours (26 rules).",
)
