"""Find the Pulumi project amlkit works on: `Pulumi.yaml` and its stack configs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .asset_uses import is_local_code
from .assets import EnvironmentAsset, ModelAsset
from .errors import ConfigError, Problem
from .loader import load_yaml
from .stack import StackSpec
from .stack_config import load_stack_spec, read_stack_config, referenced_files, stack_file


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: Path
    """The stack program's folder (`main:` of Pulumi.yaml)."""
    stacks_dir: Path
    """Where `Pulumi.<stack>.yaml` files live (`stackConfigDir:`)."""

    def load_spec(self, stack: str) -> StackSpec:
        """The stack's config, validated (raises ConfigError, one problem a line)."""
        return load_stack_spec(self.stacks_dir, stack)

    def inputs(self, stack: str, spec: StackSpec) -> list[Path]:
        """Every file and folder rendering `stack` reads: Pulumi.yaml, the stack file, the
        CLI v2 files it names, its policy pack config, and its local models, code folders,
        conda files and image context. Nothing amlkit writes may land on or in one."""
        path = stack_file(self.stacks_dir, stack)
        found = [self.root / "Pulumi.yaml", path, self.main]
        found += referenced_files(read_stack_config(path), path)
        if spec.policy.config:
            found.append(Path(spec.policy.config))
        found.append(Path(spec.scoring_image.context))
        for use in spec.asset_uses().values():
            if isinstance(use.model, ModelAsset):
                found.append(Path(use.model.path))
            if use.code is not None and is_local_code(use.code):
                found.append(Path(use.code.code))
            if isinstance(use.environment, EnvironmentAsset) and use.environment.conda_file:
                found.append(Path(use.environment.conda_file))
        return found

    def stacks(self) -> list[str]:
        return sorted(
            p.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for p in self.stacks_dir.glob("Pulumi.*.yaml")
        )


def find_project(start: Path | None = None) -> Project:
    """The nearest folder at or above `start` holding a `Pulumi.yaml`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        file = folder / "Pulumi.yaml"
        if file.is_file():
            doc = load_yaml(file) or {}
            if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
                raise ConfigError([Problem(str(file), "name", "is required")])
            return Project(
                root=folder,
                name=doc["name"],
                main=folder / str(doc.get("main") or "."),
                stacks_dir=folder / str(doc.get("stackConfigDir") or "."),
            )
    raise ConfigError(
        [Problem(str(here), "", "no Pulumi.yaml here or above; run amlkit inside the project")]
    )
