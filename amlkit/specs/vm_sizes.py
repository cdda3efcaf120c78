"""vCPUs and memory of the VM sizes AKS node pools commonly use, to check Azure ML's minimums.

Azure ML's Kubernetes reference ("Recommended resource planning") sizes a cluster by
node count and VM size: for test, 1 node of 2 vCPU / 7 GiB (DS2_v2) for inference
alone and 4 vCPU / 14 GiB (DS3_v2) with training; for production, 3 nodes of 4 vCPU /
14 GiB (DS3_v2). The figures below are Azure's size tables (learn.microsoft.com,
"Sizes for virtual machines in Azure": Dv2/DSv2, Dv3-Dv5 and their s/ds/as/ads
variants, Ev3-Ev5, Fsv2, B, NCasT4_v3, NCv3, NC A100 v4). A size not listed here is
not refused: a node pool then states `vcpus` and `memory_gib` itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VmCapacity:
    vcpus: int
    memory_gib: float


def _linear(
    prefix: str, suffixes: tuple[str, ...], versions: tuple[str, ...], gib_per_vcpu: float
) -> dict[str, VmCapacity]:
    sizes: dict[str, VmCapacity] = {}
    for vcpus in (2, 4, 8, 16, 32, 48, 64, 96):
        for suffix in suffixes:
            for version in versions:
                name = f"standard_{prefix}{vcpus}{suffix}_{version}".lower()
                sizes[name] = VmCapacity(vcpus, vcpus * gib_per_vcpu)
    return sizes


_DV2 = {  # Dv2 / DSv2: D1-D5 are 1, 2, 4, 8, 16 vCPUs at 3.5 GiB each
    f"standard_{family}{n}_v2": VmCapacity(vcpus, vcpus * 3.5)
    for family in ("d", "ds")
    for n, vcpus in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 16))
}

SIZES: dict[str, VmCapacity] = {
    **_DV2,
    **_linear("d", ("", "s", "d", "ds", "as", "ads"), ("v3", "v4", "v5"), 4),
    **_linear("e", ("", "s", "d", "ds", "as", "ads"), ("v3", "v4", "v5"), 8),
    **_linear("f", ("s",), ("v2",), 2),
    "standard_b2s": VmCapacity(2, 4),
    "standard_b2ms": VmCapacity(2, 8),
    "standard_b4ms": VmCapacity(4, 16),
    "standard_b8ms": VmCapacity(8, 32),
    "standard_nc4as_t4_v3": VmCapacity(4, 28),
    "standard_nc8as_t4_v3": VmCapacity(8, 56),
    "standard_nc16as_t4_v3": VmCapacity(16, 110),
    "standard_nc64as_t4_v3": VmCapacity(64, 440),
    "standard_nc6s_v3": VmCapacity(6, 112),
    "standard_nc12s_v3": VmCapacity(12, 224),
    "standard_nc24s_v3": VmCapacity(24, 448),
    "standard_nc24ads_a100_v4": VmCapacity(24, 220),
    "standard_nc48ads_a100_v4": VmCapacity(48, 440),
    "standard_nc96ads_a100_v4": VmCapacity(96, 880),
}


def vm_capacity(size: str) -> VmCapacity | None:
    """The size's vCPUs and memory; None for a size this table does not hold.
    Azure's size names are case-insensitive (`STANDARD_DS3_V2` is `Standard_DS3_v2`)."""
    return SIZES.get(size.lower())
