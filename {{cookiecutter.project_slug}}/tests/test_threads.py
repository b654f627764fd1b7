"""Every step bounds the numeric libraries' threads for the machine it runs on."""

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from {{ cookiecutter.package_name }} import settings, threads
from {{ cookiecutter.package_name }}.data.__main__ import main as preprocess


def test_the_environment_sets_the_limit(monkeypatch):
    assert threads.count({settings.THREADS_VARIABLE: "3"}) == 3
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(settings.SettingsError, match=settings.THREADS_VARIABLE):
            threads.count({settings.THREADS_VARIABLE: bad})


def test_a_sagemaker_job_uses_every_cpu_and_other_machines_half(tmp_path, monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    job_file = tmp_path / "resourceconfig.json"
    assert threads.count({}, job_files=[job_file]) == 4
    job_file.write_text("{}")
    assert threads.count({}, job_files=[job_file]) == 8
    monkeypatch.setattr(threads, "available_cpus", lambda: 1)
    assert threads.count({}, job_files=[tmp_path / "absent"]) == 1


def test_entry_points_apply_the_limit(tmp_path, sample_path, monkeypatch):
    monkeypatch.setenv(settings.THREADS_VARIABLE, "1")
    with threadpool_limits(limits=4):  # restored afterwards for the other tests
        assert preprocess(["--input", str(sample_path), "--output-dir", str(tmp_path)]) == 0
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}


def test_a_bad_limit_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setenv(settings.THREADS_VARIABLE, "all")
    with pytest.raises(SystemExit) as exit_info:
        threads.limit("train")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("train: error: ML_THREADS='all'")
