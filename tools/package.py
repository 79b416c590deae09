"""Stage the production files of the connector and build the deploy zip from them, offline.

`make package` and `make deploy` call this script. Why a staging directory: the SDK zips the
whole project folder (minus a few ignore patterns) and runs pipreqs over every .py file in it.
Run on the repository itself, that would ship tests/, simulator/, bench/ and tools/ to
Fivetran, and pipreqs would report pytest, hypothesis and duckdb as "missing dependencies"
(duckdb even triggers a PyPI lookup that hangs offline). So we copy exactly what production
needs (connector.py, xurrent_connector/, requirements.txt) into a clean directory
(build/package/ by default, git-ignored) and point the SDK at that directory instead.

    python tools/package.py                 # stage + `fivetran package`, list the zip
    python tools/package.py --staging DIR   # another staging directory (the tests use a tmp dir)
    python tools/package.py --stage-only    # stage only
    python tools/package.py --deploy -- --api-key ... --destination ... --connection ...
                                            # stage + `fivetran deploy <staging> <args>`

The script fails (exit 1) when the SDK reports a dependency problem or when the zip holds
anything outside the allowlist, so a broken package never reaches `fivetran deploy`.
"""

import argparse
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_STAGING_DIR = PROJECT_DIR / "build" / "package"
PACKAGE_NAME = "xurrent_connector"
TOP_LEVEL_FILES = ("connector.py", "requirements.txt")

# A marker inside the staging directory: we only ever delete a directory that we created, so a
# mistyped --staging (say, the project root) can never be wiped. It starts with a dot, which the
# SDK's ignore patterns keep out of the zip.
STAGING_MARKER = ".xurrent-package-staging"

# The SDK's own serialisation of configuration_form(); it belongs in every zip.
FORM_FILE = "configuration_form.pb"

# SDK log lines that mean the requirements check found a problem. `fivetran package
# --non-interactive` answers "No" to the fix-it prompts and still exits 0, so we look for them.
DEPENDENCY_PROBLEM_PATTERNS = (
    re.compile(r"include the following dependency libraries", re.IGNORECASE),
    re.compile(r"dependencies are not needed", re.IGNORECASE),
    re.compile(r"we recommend using the current stable version", re.IGNORECASE),
    re.compile(r"pipreqs failed", re.IGNORECASE),
    re.compile(r"skipping requirements\.txt validation", re.IGNORECASE),
    re.compile(r"\bSEVERE\b"),
)


class PackagingError(RuntimeError):
    """Packaging cannot produce a trustworthy zip; the message says what to fix."""


def _ignore_build_artifacts(directory, names):
    """Leave byte code and editor droppings out of the staged package."""
    return [name for name in names if name == "__pycache__" or name.endswith((".pyc", ".pyo"))]


def stage(staging_dir: Path, project_dir: Path = PROJECT_DIR) -> Path:
    """Copy exactly the production files into a fresh staging directory and return it.

    The directory is emptied first so a module deleted from the project does not linger in the
    next zip. Only a directory carrying our marker (or an empty/new one) is ever deleted.
    """
    staging_dir = Path(staging_dir).resolve()
    project_dir = Path(project_dir).resolve()
    if staging_dir == project_dir or staging_dir in project_dir.parents:
        raise PackagingError(f"refusing to stage into {staging_dir}: choose a dedicated directory")
    if staging_dir.exists():
        if any(staging_dir.iterdir()) and not (staging_dir / STAGING_MARKER).exists():
            raise PackagingError(
                f"{staging_dir} exists and was not created by this script; "
                "remove it or pass another --staging directory"
            )
        shutil.rmtree(staging_dir)
    staging_dir.mkdir(parents=True)
    (staging_dir / STAGING_MARKER).write_text("created by tools/package.py; safe to delete\n")

    for name in TOP_LEVEL_FILES:
        source = project_dir / name
        if not source.is_file():
            raise PackagingError(f"{source} is missing; the deployed connector needs it")
        shutil.copy2(source, staging_dir / name)
    package_source = project_dir / PACKAGE_NAME
    if not (package_source / "__init__.py").is_file():
        raise PackagingError(f"{package_source}/__init__.py is missing; the package cannot import")
    shutil.copytree(package_source, staging_dir / PACKAGE_NAME, ignore=_ignore_build_artifacts)
    return staging_dir


def _import_names(distribution) -> list[str]:
    """Top-level modules a distribution provides, even when it ships no top_level.txt."""
    declared = distribution.read_text("top_level.txt")
    if declared:
        return [name for name in declared.split() if name]
    names = set()
    for file in distribution.files or ():
        top = file.parts[0]
        if top.endswith((".dist-info", ".egg-info", ".pth")) or top == "__pycache__":
            continue
        names.add(top[:-3] if top.endswith(".py") else top)
    return sorted(names)


def _pipreqs_mapping() -> dict:
    """pipreqs' import-name -> PyPI-name table (e.g. requests -> Requests)."""
    spec = importlib.util.find_spec("pipreqs")
    if spec is None or not spec.submodule_search_locations:
        return {}
    mapping_file = Path(list(spec.submodule_search_locations)[0]) / "mapping"
    mapping = {}
    for line in mapping_file.read_text(encoding="utf-8").splitlines():
        if ":" in line:
            import_name, package_name = line.strip().split(":", 1)
            mapping[import_name] = package_name
    return mapping


def write_offline_pipreqs(work_dir: Path) -> Path:
    """Make the SDK's pipreqs resolve our runtime imports from the venv instead of PyPI.

    Why: pipreqs only trusts a local install when it finds a top_level.txt whose directory name
    or content equals its (mapped) candidate name. tenacity 9.2.1 ships no top_level.txt and
    pipreqs maps `requests` to `Requests`, so both are looked up on pypi.python.org; offline
    that fails three times (12 s of sleeps) and the SDK silently skips the requirements check.
    We write small `<Name>-<installed version>.dist-info/top_level.txt` hints for every
    distribution installed in this venv and put a `pipreqs` wrapper that adds the hints to its
    sys.path first on PATH. The versions are the installed ones, so the SDK's comparison with
    requirements.txt stays meaningful (a missing or mis-pinned requirement is still reported,
    just without the PyPI round trip); nothing else changes.
    Returns the directory to prepend to PATH.
    """
    hints_dir = work_dir / "pipreqs-hints"
    bin_dir = work_dir / "bin"
    hints_dir.mkdir(parents=True, exist_ok=True)
    bin_dir.mkdir(parents=True, exist_ok=True)
    mapping = _pipreqs_mapping()
    for distribution in importlib.metadata.distributions():
        for import_name in _import_names(distribution):
            if not import_name.isidentifier():
                continue
            candidate = mapping.get(import_name, import_name)
            hint = hints_dir / f"{candidate}-{distribution.version}.dist-info"
            hint.mkdir(exist_ok=True)
            (hint / "top_level.txt").write_text(import_name + "\n", encoding="utf-8")
    real_pipreqs = Path(sys.executable).parent / "pipreqs"
    if not real_pipreqs.exists():
        real_pipreqs = Path(shutil.which("pipreqs") or "pipreqs")
    wrapper = bin_dir / "pipreqs"
    wrapper.write_text(
        "#!/bin/sh\n"
        "# Written by tools/package.py: pipreqs with local hints so it never asks PyPI.\n"
        f'PYTHONPATH="{hints_dir}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{real_pipreqs}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return bin_dir


def sdk_environment(extra_path: Path | None = None) -> dict:
    """Environment for the SDK CLI: no telemetry, and this venv's pipreqs on PATH."""
    environment = dict(os.environ)
    environment["DO_NOT_TRACK"] = "1"
    path_entries = [str(Path(sys.executable).parent)]
    if extra_path is not None:
        path_entries.insert(0, str(extra_path))
    environment["PATH"] = os.pathsep.join([*path_entries, environment.get("PATH", "")])
    return environment


def fivetran_executable() -> str:
    """The `fivetran` console script of the interpreter running us (the project venv)."""
    candidate = Path(sys.executable).parent / "fivetran"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("fivetran")
    if not found:
        raise PackagingError("the `fivetran` CLI is not installed; run `make venv` first")
    return found


def zip_path_for(staging_dir: Path) -> Path:
    """Where `fivetran package` writes the zip: files/<folder name>.zip inside the project."""
    return staging_dir / "files" / f"{staging_dir.name}.zip"


def build_package(staging_dir: Path) -> tuple[Path, str]:
    """Run `fivetran package` on the staged tree; return the zip path and the CLI's output."""
    zip_path = zip_path_for(staging_dir)
    if zip_path.exists():
        zip_path.unlink()
    with tempfile.TemporaryDirectory(prefix="xurrent-pipreqs-") as work_dir:
        pipreqs_bin = write_offline_pipreqs(Path(work_dir))
        result = subprocess.run(
            [fivetran_executable(), "package", str(staging_dir), "--non-interactive"],
            cwd=staging_dir,
            env=sdk_environment(pipreqs_bin),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise PackagingError(
            f"`fivetran package` failed with exit code {result.returncode}:\n{output}"
        )
    problems = [
        line
        for line in output.splitlines()
        if any(pattern.search(line) for pattern in DEPENDENCY_PROBLEM_PATTERNS)
    ]
    if problems:
        found = "\n".join(problems)
        raise PackagingError(
            "the SDK's requirements check reported problems; fix requirements.txt or the imports "
            f"of connector.py/xurrent_connector:\n{found}\n\nfull output:\n{output}"
        )
    if not zip_path.is_file():
        raise PackagingError(
            f"`fivetran package` exited 0 but {zip_path} was not written:\n{output}"
        )
    return zip_path, output


def deploy(staging_dir: Path, deploy_arguments: list[str]) -> int:
    """Run `fivetran deploy` on the staged tree, interactively, and return its exit code.

    The same offline pipreqs hints as `package` keep the SDK's requirements check
    deterministic. Output is not captured: deploy may prompt, and it prints its own summary
    (with the API key masked).
    """
    with tempfile.TemporaryDirectory(prefix="xurrent-pipreqs-") as work_dir:
        pipreqs_bin = write_offline_pipreqs(Path(work_dir))
        command = [fivetran_executable(), "deploy", str(staging_dir), *deploy_arguments]
        return subprocess.run(
            command, cwd=staging_dir, env=sdk_environment(pipreqs_bin)
        ).returncode


def is_allowed_entry(name: str) -> bool:
    """True for the files production needs and nothing else."""
    path = PurePosixPath(name)
    if name in TOP_LEVEL_FILES or name == FORM_FILE:
        return True
    return path.parts[0] == PACKAGE_NAME and path.suffix == ".py"


def verify_zip(zip_path: Path) -> list[str]:
    """Return the zip's file list, or raise if something outside the allowlist got in."""
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(info.filename for info in archive.infolist() if not info.is_dir())
    unexpected = [name for name in names if not is_allowed_entry(name)]
    if unexpected:
        raise PackagingError(f"{zip_path} holds files production must not get: {unexpected}")
    for required in (*TOP_LEVEL_FILES, f"{PACKAGE_NAME}/__init__.py"):
        if required not in names:
            raise PackagingError(f"{zip_path} lacks {required}")
    return names


def parse_arguments(argv):
    """Options for `make package`, `make deploy` and the tests."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--staging",
        type=Path,
        default=DEFAULT_STAGING_DIR,
        help=f"staging directory (default {DEFAULT_STAGING_DIR.relative_to(PROJECT_DIR)})",
    )
    parser.add_argument(
        "--stage-only", action="store_true", help="copy the files but do not build the zip"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print the SDK's output even when all is well"
    )
    parser.add_argument(
        "--deploy",
        nargs=argparse.REMAINDER,
        metavar="FIVETRAN_DEPLOY_ARGS",
        help="stage, then run `fivetran deploy <staging>` with the arguments after `--`",
    )
    arguments = parser.parse_args(argv)
    if arguments.deploy is not None and arguments.deploy[:1] == ["--"]:
        arguments.deploy = arguments.deploy[1:]
    return arguments


def main(argv=None) -> int:
    """Stage, package, verify and list; exit 1 with the reason on any problem."""
    arguments = parse_arguments(argv)
    try:
        staging_dir = stage(arguments.staging)
        print(f"staged production files in {staging_dir}")
        if arguments.stage_only:
            return 0
        if arguments.deploy is not None:
            return deploy(staging_dir, arguments.deploy)
        zip_path, output = build_package(staging_dir)
        if arguments.verbose:
            print(output)
        names = verify_zip(zip_path)
    except (PackagingError, subprocess.TimeoutExpired, OSError) as error:
        print(f"packaging failed: {error}", file=sys.stderr)
        return 1
    print(f"package: {zip_path}")
    for name in names:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
