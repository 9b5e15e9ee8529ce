import io
import json
from pathlib import Path

import pytest

from opencdmo.bench_command import load_best_known, rpd, run_bench
from opencdmo.scheduling import ProblemDataError, ReaderError

FJSP = Path("/work/shared/benchmarks/fjsp")


def test_bench_prints_json_lines_then_a_table_with_rpd() -> None:
    out = io.StringIO()
    code = run_bench([FJSP / "mk01.txt"], None, 2.0, 1, "auto", FJSP / "bks.json", out)
    lines = out.getvalue().splitlines()
    row = json.loads(lines[0])
    assert code == 0
    assert set(row) == {"instance", "status", "objective", "lower_bound", "seconds"}
    assert row["instance"] == "mk01"
    assert row["objective"] == 40
    assert "RPD %" in out.getvalue()
    assert "mean RPD 0.00 %" in out.getvalue()


def test_bench_rejects_unknown_format_and_bad_bks(tmp_path: Path) -> None:
    with pytest.raises(ProblemDataError, match="unknown format"):
        run_bench([FJSP / "mk01.txt"], "xml", 1.0, 1, "auto", None, io.StringIO())
    bad = tmp_path / "bks.json"
    bad.write_text("{")
    with pytest.raises(ReaderError, match="not valid JSON"):
        load_best_known(bad)


def test_rpd() -> None:
    assert rpd(41, 40) == pytest.approx(2.5)
    assert rpd(None, 40) is None
    assert rpd(40, None) is None
