"""Where the benchmark report goes and what it may say (bench/report.py): a quick run never
replaces the committed full run, and no report names a path on the machine that made it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = _report()


def test_a_quick_run_never_replaces_the_committed_results(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    committed = bench / "RESULTS.md"
    committed.write_text("# the full run\n")
    quick = report.write_report("# quick\n", bench_dir=bench, root=tmp_path, quick=True)
    assert quick == bench / "RESULTS-quick.md" and quick.read_text() == "# quick\n"
    assert committed.read_text() == "# the full run\n"
    full = report.write_report("# full\n", bench_dir=bench, root=tmp_path, quick=False)
    assert full == committed and committed.read_text() == "# full\n"


def test_git_ignores_the_quick_report() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "bench/RESULTS-quick.md"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
    tracked = subprocess.run(
        ["git", "check-ignore", "-q", "bench/RESULTS.md"], cwd=ROOT, check=False
    )
    assert tracked.returncode == 1


def test_a_report_names_no_absolute_local_path(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    temp = tempfile.gettempdir()
    text = "\n".join(
        [
            f"- LiteLLM proxy from {root}/.nox/litellm-proxy",
            f"- phase 'streams' failed: OSError: [Errno 2] No such file: '{temp}/bench-x/s.log'",
            f"- cache in {Path.home()}/.cache/pip",
            "- binary /usr/local/bin/wrk, config /etc/postgresql/15/main/postgresql.conf",
            "- database postgresql://postgres@127.0.0.1:5432/test",
            "| concurrency 1, p50 / p99 | 1.27 / 1.88 ms | 180/180 streams | 2.4 req/s |",
            "- command: `python bench/run.py --quick`",
        ]
    )
    out = report.without_local_paths(text, root)
    assert "LiteLLM proxy from .nox/litellm-proxy" in out
    assert "'$TMPDIR/bench-x/s.log'" in out
    assert "~/.cache/pip" in out
    assert "binary wrk, config postgresql.conf" in out
    # what is not a local path is left alone
    assert "postgresql://postgres@127.0.0.1:5432/test" in out
    assert "| concurrency 1, p50 / p99 | 1.27 / 1.88 ms | 180/180 streams | 2.4 req/s |" in out
    assert "`python bench/run.py --quick`" in out
    for local in (str(root), temp + "/", str(Path.home()) + "/", "/usr/", "/etc/"):
        assert local not in out


def test_the_committed_results_name_no_absolute_local_path() -> None:
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    assert report.without_local_paths(text, ROOT) == text
