"""A sweep of every newer registry optimizer plus a plug-in, on generated data; resume for muon and schedule-free."""

import yaml

from optlab.cli import main
from tests.helpers import comparable, results, sweep_args
from tests.test_plugins import PLUGIN
from tests.test_resume import kill_during_second_run

NEW = ["muon", "adafactor", "lion", "schedulefree_adamw", "schedulefree_sgd", "prodigy", "lamb", "soap"]
FAMILIES = {"muon": "orthogonalized", "soap": "orthogonalized", "adafactor": "adaptive", "lion": "adaptive",
            "lamb": "adaptive", "schedulefree_adamw": "schedule-free", "schedulefree_sgd": "schedule-free",
            "prodigy": "lr-free"}


def test_every_new_optimizer_and_a_plugin_train_in_one_sweep(tmp_path, capsys):
    plugin_file = tmp_path / "sign_sgd.py"
    plugin_file.write_text(PLUGIN)
    plugin = f"{plugin_file}:SignSGD"
    # Each at its default lr (prodigy 1.0: a multiplier) but SOAP, whose 3e-3 needs more than 8 steps to pay off;
    # SOAP's 4096-wide side unpreconditioned to stay fast.
    args = sweep_args(tmp_path, "new", "--synthetic-size", "200", "--limit-train-batches", "4",
                      "--optimizers", *NEW, plugin, "--lrs", "default", f"{plugin}=1e-3", "soap=1e-3",
                      "--optimizer-args", "soap.max_precondition_dim=512")
    assert main(args) == 0
    out = capsys.readouterr().out
    runs = {run["optimizer"]: run for run in results(tmp_path, "new").values()}
    assert set(runs) == {*NEW, plugin}
    for name, run in runs.items():
        first_step_loss = run["train_loss_curve"][0][1]
        assert run["status"] == "finished" and run["final_train_loss"] < first_step_loss, name
        assert run["family"] == FAMILIES.get(name, "sgd"), name
    assert runs["prodigy"]["lr"] == 1.0 and runs["soap"]["lr"] == 1e-3
    assert runs["muon"]["lr"] == 0.02 and runs[plugin]["lr"] == 1e-3
    assert runs["soap"]["optimizer_kwargs"] == {"max_precondition_dim": 512} and runs["lamb"]["optimizer_kwargs"] == {}
    hparams = yaml.safe_load((tmp_path / "new" / "muon" / "lr0.02_seed0" / "hparams.yaml").read_text())
    assert hparams["optimizer"] == "muon" and hparams["lr"] == 0.02 and hparams["family"] == "orthogonalized"
    assert hparams["max_epochs"] == 2 and hparams["batch_size"] == 32
    # One line as each run starts and one as it ends; Lightning's banner at most once.
    assert out.count("GPU available") <= 1 and "Tip" not in out and "Loading `train_dataloader`" not in out
    assert out.count("\ndone ") == 9 and "9/9 done" in out and "about" in out


def _kill_and_resume(tmp_path, capsys, optimizer: str, size: str) -> None:
    grid = ("--optimizers", optimizer, "--lrs", "default", "--max-epochs", "3", "--synthetic-size", size,
            "--limit-train-batches", "4")
    assert main(sweep_args(tmp_path, "unbroken", *grid)) == 0
    args = sweep_args(tmp_path, "killed", *grid)
    run_id = results(tmp_path, "unbroken").popitem()[0]
    folder = tmp_path / "killed" / optimizer / run_id.removeprefix(f"{optimizer}_")
    finished = tmp_path / "killed" / "results" / f"{run_id}.json"
    kill_during_second_run(args, folder / "checkpoints" / "last.ckpt", finished)
    capsys.readouterr()
    assert main(args) == 0
    assert f"resume {run_id}" in capsys.readouterr().out
    unbroken, resumed = results(tmp_path, "unbroken")[run_id], results(tmp_path, "killed")[run_id]
    assert resumed["resumed"] and comparable(resumed) == comparable(unbroken)


def test_a_killed_muon_run_resumes_to_the_same_result(tmp_path, capsys):
    _kill_and_resume(tmp_path, capsys, "muon", "200")


def test_a_killed_schedule_free_run_resumes_to_the_same_result(tmp_path, capsys):
    _kill_and_resume(tmp_path, capsys, "schedulefree_adamw", "800")
