"""Golden tests of every pure launcher builder (argv lists, job scripts), job-id parsing and
PE_HOSTFILE expansion, plus every job script run for real under /bin/sh (dash).

The files in golden/ are the source of truth. After an intended change, regenerate them with
``NETPOOL_REGEN_GOLDEN=1 python -m pytest tests/launchers/test_builders.py`` and review the
diff before committing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netpool.errors import LauncherError
from netpool.launchers import (LocalWorker, LSFWorkerArray, PBSWorkerArray, SGEPEWorkerArray,
                               SGEQsubWorkerArray, SLURMWorkerArray, SSHWorker, WorkerCommand)
from netpool.launchers.base import write_key_file
from netpool.launchers.batch import job_script
from netpool.launchers.jobs import memory_mb, walltime_seconds
from netpool.launchers.lsf import parse_bsub_job_id
from netpool.launchers.pbs import parse_pbs_job_id, pbs_member_id
from netpool.launchers.sge import parse_pe_hostfile, parse_sge_job_id, sge_qrsh_argv
from netpool.launchers.slurm import parse_sbatch_job_id, slurm_srun_argv

pytestmark = pytest.mark.timeout(60)

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("NETPOOL_REGEN_GOLDEN") == "1"
AUTHKEY = bytes(range(100, 132))  # never in any argv or script
PYTHON = ("/opt/o'brien's env/bin/python3", "-X", "dev")  # several words, a space, quotes
SHARED = "/shared/run 'A' $HOME `x`"
CWD = SHARED


def commands(n: int, python=PYTHON, folder: str = SHARED, first_id: int = 0):
    return [WorkerCommand(python=tuple(python), address=("10.0.0.5", 40123), worker_id=first_id + i,
                          output=f"{folder}/worker{first_id + i}.output",
                          authkey_file=f"{folder}/.netpool/authkey") for i in range(n)]


def golden_cases() -> dict[str, object]:
    """name -> argv (list) or script (str): every builder's output for fixed inputs."""
    cmd = commands(1)[0]
    three = commands(3)
    sge = SGEQsubWorkerArray(3, "-q 'long q' -V -l h_rt=1:00:00")
    slurm = SLURMWorkerArray(3, "--partition=debug --comment='a b'")
    pbs, pbs1 = PBSWorkerArray(3, "-q workq -V"), PBSWorkerArray(1)
    lsf = LSFWorkerArray(3, "-q normal -W 60")
    srun = slurm_srun_argv(three, "--overlap", CWD)
    site = dict(walltime="1:30:00", memory="4G", cores=4, queue="long q", account="proj-7",
                job_name="my run", log=f"{SHARED}/job.log", directives=["EXTRA 'quoted' line"],
                prologue=["module load python/3.11", "conda activate 'my env'"])
    settings = {"sge": SGEQsubWorkerArray(3, "-V", **site), "slurm": SLURMWorkerArray(3, **site),
                "pbs": PBSWorkerArray(3, **site), "lsf": LSFWorkerArray(3, **site)}
    torque = PBSWorkerArray(3, **site)
    torque.array_option = "-t"
    return {
        **{f"{k}_settings_argv.json": a.submit_argv() for k, a in settings.items()},
        **{f"{k}_settings_script.sh": a.job_script(three, CWD) for k, a in settings.items()},
        "torque_settings_argv.json": torque.submit_argv(),
        "ssh_argv.json": SSHWorker("node7", user="o'brien", port=2222,
                                   ssh_options=("-o", "ConnectTimeout=5"),
                                   python="'/opt/my py/bin/python3' -X dev").argv(cmd),
        "ssh_argv_default.json": SSHWorker("node7").argv(cmd),
        "ssh_argv_options_string.json": SSHWorker(
            "::1", ssh_options="-i '/keys/my key' -o StrictHostKeyChecking=no").argv(cmd),
        "sge_qsub_argv.json": sge.submit_argv(),
        "sge_job_script.sh": sge.job_script(three, CWD),
        "sge_qrsh_argv.json": sge_qrsh_argv("node3", cmd),
        "sge_cancel_argv.json": sge.cancel_argv("1234"),
        "slurm_sbatch_argv.json": slurm.submit_argv(),
        "slurm_job_script.sh": slurm.job_script(three, CWD),
        "slurm_cancel_argv.json": slurm.cancel_argv("12"),
        "slurm_srun_argv.json": srun,
        "slurm_step_script.sh": srun[-1],
        "pbs_qsub_argv.json": pbs.submit_argv(),
        "pbs_qsub_argv_single.json": pbs1.submit_argv(),
        "pbs_job_script.sh": pbs.job_script(three, CWD),
        "pbs_job_script_single.sh": pbs1.job_script(commands(1), CWD),
        "pbs_cancel_argv.json": pbs.cancel_argv("1234[].server"),
        "lsf_bsub_argv.json": lsf.submit_argv(),
        "lsf_job_script.sh": lsf.job_script(three, CWD),
        "lsf_cancel_argv.json": lsf.cancel_argv("1234"),
    }


def render(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=1) + "\n"


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_golden(name):
    text = render(golden_cases()[name])
    path = GOLDEN / name
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with NETPOOL_REGEN_GOLDEN=1 and review"
    assert text == path.read_text(), f"{name} differs from golden/{name}"


def test_no_stray_golden_files():
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(golden_cases())


def test_no_authkey_anywhere():
    for name, value in golden_cases().items():
        text = render(value)
        assert AUTHKEY.hex() not in text and AUTHKEY.hex().upper() not in text, name


def test_scripts_have_no_bash_arrays():
    for name, value in golden_cases().items():
        if isinstance(value, str):
            assert value.startswith("#!/bin/sh\n")
            assert "=(" not in value and "[$" not in value, name


# --- job ids, PE hostfile ----------------------------------------------------------------------

@pytest.mark.parametrize("out, expected", [
    ('Your job-array 12.1-3:1 ("STDIN") has been submitted\n', "12"),
    ("12.1-3:1\n", "12"),
    ('Your job 7 ("netpool") has been submitted\n', "7"),
    ("Your job has been submitted: 1234\n", "1234"),  # the original test's fake qsub
    ('warning: no -V\nYour job-array 99.1-2:1 ("x") has been submitted\n', "99"),
])
def test_parse_sge_job_id(out, expected):
    assert parse_sge_job_id(out) == expected


@pytest.mark.parametrize("parse, out, expected", [
    (parse_sbatch_job_id, "12\n", "12"),
    (parse_sbatch_job_id, "12;ci\n", "12"),
    (parse_pbs_job_id, "1234[].pbs-server\n", "1234[].pbs-server"),
    (parse_pbs_job_id, "1234.pbs-server\n", "1234.pbs-server"),
    (parse_pbs_job_id, "77\n", "77"),
    (parse_bsub_job_id, "Job <1234> is submitted to default queue <normal>.\n", "1234"),
])
def test_parse_job_ids(parse, out, expected):
    assert parse(out) == expected


@pytest.mark.parametrize("parse", [parse_sge_job_id, parse_sbatch_job_id, parse_pbs_job_id,
                                   parse_bsub_job_id])
def test_parse_job_id_garbage(parse):
    with pytest.raises(LauncherError, match="no job id"):
        parse("error: something went wrong\n")


def test_pbs_member_id():
    assert pbs_member_id("1234[].server", 2) == "1234[2].server"
    assert pbs_member_id("1234.server", 1) == "1234.server"


def test_pe_hostfile_original(tmp_path, monkeypatch):
    """IMP.parallel's test_pe_worker_array: 4 workers, first exactly a LocalWorker."""
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("node1 1 long.q\nnode2 1 long.q\nnode3 2 short.q\n")
    monkeypatch.setenv("PE_HOSTFILE", str(hostfile))
    workers = SGEPEWorkerArray()._get_workers()
    assert len(workers) == 4
    assert type(workers[0]) is LocalWorker
    assert [w._host for w in workers[1:]] == ["node2", "node3", "node3"]
    assert repr(workers[3]) == "<SGE PE worker on node3>"


def test_pe_hostfile_real_format():
    assert parse_pe_hostfile("vm 2 all.q@vm UNDEFINED\n\nnode9 1 q@node9 <NULL>\n") == \
        ["vm", "vm", "node9"]
    with pytest.raises(LauncherError, match="PE_HOSTFILE line"):
        parse_pe_hostfile("vm two all.q\n")


def test_pe_hostfile_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("PE_HOSTFILE", raising=False)
    with pytest.raises(LauncherError, match=r"PE_HOSTFILE.*qsub -pe"):
        SGEPEWorkerArray()._get_workers()
    monkeypatch.setenv("PE_HOSTFILE", str(tmp_path / "absent"))
    with pytest.raises(LauncherError, match="cannot read PE_HOSTFILE"):
        SGEPEWorkerArray()._get_workers()


def test_reprs():
    assert repr(SSHWorker("node7", user="bob")) == "<SSHWorker bob@node7>"
    assert repr(SSHWorker("node7")) == "<SSHWorker node7>"
    w = SGEQsubWorkerArray(2, "")._get_workers()
    assert repr(w[1]) == "<SGE qsub worker, ID (unknown)>"
    w[1].job_id = "1234.2"
    assert repr(w[1]) == "<SGE qsub worker, ID 1234.2>"
    assert repr(SLURMWorkerArray(3)._get_workers()[2]) == "<SLURM worker, ID (unknown)>"


@pytest.mark.parametrize("value, seconds", [
    (3600, 3600), (59.2, 60), ("90", 90), ("90:00", 5400), ("1:30:00", 5400),
    ("2-00:00:00", 172800), ("1-12", 129600), ("1-2:30", 95400)])
def test_walltime_parsing(value, seconds):
    assert walltime_seconds(value) == seconds


@pytest.mark.parametrize("value, mb", [(512, 512), ("512M", 512), ("4G", 4096), ("2GB", 2048),
                                       ("1.5g", 1536), ("1T", 1048576), ("2048K", 2)])
def test_memory_parsing(value, mb):
    assert memory_mb(value) == mb


@pytest.mark.parametrize("settings, match", [
    (dict(walltime="an hour"), "walltime"), (dict(walltime=0), "walltime"),
    (dict(walltime=True), "walltime"), (dict(memory="lots"), "memory"),
    (dict(memory=-1), "memory"), (dict(cores=0), "cores"), (dict(cores=2.5), "cores"),
    (dict(queue=""), "queue"), (dict(job_name="a\nb"), "job_name"),
    (dict(prologue=["a\nb"]), "one line"), (dict(directives="x\ry"), "one line")])
def test_bad_settings_fail_before_submitting(settings, match):
    for cls in (SGEQsubWorkerArray, SLURMWorkerArray, PBSWorkerArray, LSFWorkerArray):
        with pytest.raises(ValueError, match=match):
            cls(2, **settings)


def test_unknown_setting_names_the_known_ones():
    with pytest.raises(TypeError, match=r"\['wall_time'\].*walltime"):
        SLURMWorkerArray(2, wall_time=60)


def test_directives_and_prologue_run_under_dash(tmp_path):
    """The prologue runs after the cd and before the worker, in the job's shell; directive
    lines are comments to the shell (only the scheduler reads them)."""
    cmd = WorkerCommand((sys.executable, "-c", "import os; print(os.environ['FROM_PROLOGUE'])",
                         "--"), ("h", 1), 1, str(tmp_path / "out"), str(tmp_path / "key"))
    array = SLURMWorkerArray(1, directives=["--this-would-fail-as-a-command"],
                             prologue=["FROM_PROLOGUE=\"$(pwd)\"", "export FROM_PROLOGUE"])
    script = tmp_path / "job.sh"
    script.write_text(array.job_script([cmd], str(tmp_path)))
    proc = subprocess.run(["/bin/sh", str(script)], env={"SLURM_ARRAY_TASK_ID": "1",
                          "PATH": "/usr/bin:/bin"}, cwd="/", capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out").read_text().strip() == str(tmp_path)


def test_array_sizes():
    with pytest.raises(ValueError):
        SLURMWorkerArray(0)
    with pytest.raises(ValueError, match="authkey_file"):
        job_script("$X", [WorkerCommand(PYTHON, ("h", 1), 0, "o")])


# --- every job script, run under /bin/sh ------------------------------------------------------

FAKE_PYTHON = """#!{python}
import json, os, sys
args = sys.argv[1:]
key = open(args[args.index("--authkey-file") + 1]).read().strip()
print(json.dumps({{"argv": args, "key": key, "cwd": os.getcwd()}}))
"""


@pytest.fixture
def fake_env(tmp_path):
    """A folder whose name has a space and quotes, a fake python named 'fake py' on PATH."""
    folder = tmp_path / "it's a \"dir\" $HOME"
    bindir = folder / "bin"
    bindir.mkdir(parents=True)
    fake = bindir / "fake py"
    fake.write_text(FAKE_PYTHON.format(python=sys.executable))
    fake.chmod(0o755)
    key_file = write_key_file(str(folder / ".netpool"), AUTHKEY)
    cmds = [WorkerCommand(("fake py", "-X", "it's"), ("127.0.0.1", 5555), i + 1,
                          str(folder / f"worker{i + 1}.output"), key_file) for i in range(3)]
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "LANG": "C"}
    return folder, cmds, env


def scripts(cmds, folder):
    """kind -> (script, [(env for worker i) for i in 0..2], env that selects no worker)."""
    cwd = str(folder)
    return {
        "sge": (SGEQsubWorkerArray(3, "").job_script(cmds, cwd),
                [{"SGE_TASK_ID": str(i + 1)} for i in range(3)], {"SGE_TASK_ID": "undefined"}),
        "slurm": (SLURMWorkerArray(3).job_script(cmds, cwd),
                  [{"SLURM_ARRAY_TASK_ID": str(i + 1)} for i in range(3)],
                  {"SLURM_ARRAY_TASK_ID": "4"}),
        "slurm_step": (slurm_srun_argv(cmds, "", cwd)[-1],
                       [{"SLURM_PROCID": str(i)} for i in range(3)], {"SLURM_PROCID": "3"}),
        "pbs_pro": (PBSWorkerArray(3).job_script(cmds, cwd),
                    [{"PBS_ARRAY_INDEX": str(i + 1)} for i in range(3)], {}),
        "torque": (PBSWorkerArray(3).job_script(cmds, cwd),
                   [{"PBS_ARRAYID": str(i + 1)} for i in range(3)], {"PBS_ARRAYID": "0"}),
        "lsf": (LSFWorkerArray(3).job_script(cmds, cwd),
                [{"LSB_JOBINDEX": str(i + 1)} for i in range(3)], {"LSB_JOBINDEX": "0"}),
    }


@pytest.mark.parametrize("kind", ["sge", "slurm", "slurm_step", "pbs_pro", "torque", "lsf"])
def test_script_runs_under_dash(kind, fake_env, tmp_path):
    folder, cmds, env = fake_env
    script, task_envs, bad_env = scripts(cmds, folder)[kind]
    path = tmp_path / "job.sh"
    path.write_text(script)
    for i, task_env in enumerate(task_envs):
        for c in cmds:
            Path(c.output).unlink(missing_ok=True)
        # run from elsewhere: the script must cd to the manager's folder itself
        proc = subprocess.run(["/bin/sh", str(path)], env={**env, **task_env}, cwd="/",
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert [Path(c.output).exists() for c in cmds] == [j == i for j in range(3)]
        report = json.loads(Path(cmds[i].output).read_text())
        assert report["argv"] == cmds[i].argv("file")[1:]
        assert report["argv"][:2] == ["-X", "it's"]
        assert report["argv"][report["argv"].index("--id") + 1] == str(i + 1)
        assert report["key"] == AUTHKEY.hex()
        assert report["cwd"] == str(folder)
    proc = subprocess.run(["/bin/sh", str(path)], env={**env, **bad_env}, cwd="/",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "netpool: no worker for index" in proc.stderr


def test_single_pbs_script_runs_without_array(fake_env, tmp_path):
    folder, cmds, env = fake_env
    path = tmp_path / "job.sh"
    path.write_text(PBSWorkerArray(1).job_script(cmds[:1], str(folder)))
    proc = subprocess.run(["/bin/sh", str(path)], env=env, cwd="/", capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(Path(cmds[0].output).read_text())["key"] == AUTHKEY.hex()


def test_missing_python_error_lands_in_output_file(fake_env, tmp_path):
    folder, cmds, env = fake_env
    path = tmp_path / "job.sh"
    path.write_text(job_script("$I", [WorkerCommand(("no-such-python",), ("h", 1), 1,
                                                    cmds[0].output, cmds[0].authkey_file)]))
    proc = subprocess.run(["/bin/sh", str(path)], env={**env, "I": "1"}, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 127
    assert "no-such-python" in Path(cmds[0].output).read_text()


@pytest.mark.parametrize("cls", [SGEQsubWorkerArray, SLURMWorkerArray, PBSWorkerArray,
                                 LSFWorkerArray])
def test_a_lost_member_is_replaced_by_a_one_worker_job_like_its_array(cls):
    array = cls(3, "-x 'y z'", walltime=600, queue="q1", prologue=["module load a"])
    array.job_id = "77"
    lost = array._get_workers()[2]
    fresh = lost._replacement()
    assert type(fresh) is cls and fresh is not array and fresh.job_id is None
    assert len(fresh._get_workers()) == 1 and fresh._get_workers()[0].array is fresh
    assert fresh.settings == array.settings and fresh._options == array._options
    one = cls(1, "-x 'y z'", walltime=600, queue="q1", prologue=["module load a"])
    assert fresh.submit_argv() == one.submit_argv()
    assert fresh.job_script(commands(1), CWD) == one.job_script(commands(1), CWD)
    assert array._can_replace() and len(array._get_workers()) == 3  # the original is untouched


def test_replacement_keeps_instance_overrides():
    torque = PBSWorkerArray(2)
    torque.array_option = "-t"
    fresh = torque._get_workers()[0]._replacement()
    assert fresh.array_option == "-t" and fresh.index_expr == PBSWorkerArray(1).index_expr
    assert not SGEPEWorkerArray()._can_replace()


def test_job_script_exports_the_jobs_end(tmp_path):
    """With a walltime, the script tells its worker when the job ends (epoch seconds)."""
    import time
    cmd = WorkerCommand((sys.executable, "-c", "import os; print(os.environ['NETPOOL_JOB_END'])",
                         "--"), ("h", 1), 1, str(tmp_path / "out"), str(tmp_path / "key"))
    script = tmp_path / "job.sh"
    script.write_text(SLURMWorkerArray(1, walltime=600).job_script([cmd], str(tmp_path)))
    before = time.time()
    proc = subprocess.run(["/bin/sh", str(script)], env={"SLURM_ARRAY_TASK_ID": "1",
                          "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    end = float((tmp_path / "out").read_text())
    assert before + 599 <= end <= time.time() + 601
    assert "export NETPOOL_JOB_END" not in SLURMWorkerArray(1).job_script([cmd], str(tmp_path))


def test_worker_reads_its_jobs_end(monkeypatch):
    from netpool.worker import walltime
    monkeypatch.setenv("NETPOOL_JOB_END", "2000000000.5")
    assert walltime.job_end() == 2000000000.5
    monkeypatch.setenv("NETPOOL_JOB_END", "soon")
    assert walltime.job_end() is None
    monkeypatch.delenv("NETPOOL_JOB_END")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert walltime.job_end() is None and walltime.remaining() is None
    rec = "JobId=7 JobName=x TimeLimit=00:01:00 StartTime=2026-12-01T10:00:00 EndTime=2026-12-01T10:01:00 X=1"
    import datetime
    assert walltime.parse_slurm_end_time(rec) == datetime.datetime(2026, 12, 1, 10, 1).timestamp()
    assert walltime.parse_slurm_end_time("JobId=7 EndTime=Unknown") is None
    assert walltime.parse_slurm_end_time("JobId=7") is None
