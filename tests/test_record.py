"""record.py: the history round-trips, survives a kill, is deterministic, and fails loudly."""
import csv
import errno
import json
import os
import signal
import time

import numpy as np
import pytest
from conftest import run_record

import dqn
import checkpoints
import history_io
import record
import toolbox


def load_all(run_dir):
    parts = [cols for _, cols in history_io.read_history(run_dir)]
    return {k: np.concatenate([c[k] for c in parts]) for k in history_io.FIELDS}


def games_in_history(h):
    """Raw score of every finished game, recomputed from the history rows alone."""
    scores, score = [], None
    for first, r, end in zip(h["first"], h["reward_raw"], h["terminated"] | h["truncated"]):
        if first:
            score = 0.0
        if score is not None:
            score += r
        if end and score is not None:
            scores.append(score)
            score = None
    return scores


def curve_scores(run_dir):
    with open(os.path.join(run_dir, "curve.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["episode"]) for r in rows] == list(range(len(rows)))
    return [float(r["score"]) for r in rows], [int(r["step"]) for r in rows]


def test_chunk_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    n = 37
    cols = {k: (rng.integers(0, 256, (n, 84, 84)) if k == "frame" else rng.standard_normal(n) > 0
                if dt is np.bool_ else rng.integers(0, 4, n) if k == "action" else rng.standard_normal(n)).astype(dt)
            for k, dt in history_io.FIELDS.items()}
    os.makedirs(tmp_path / "history")
    history_io.write_chunk(str(tmp_path), 100, cols)
    back = history_io.read_chunk(history_io.chunk_path(str(tmp_path), 100), 100)
    for k in history_io.FIELDS:
        assert back[k].dtype == cols[k].dtype
        np.testing.assert_array_equal(back[k], cols[k])


def test_tiny_run_is_complete_and_consistent(tiny_run):
    h = load_all(tiny_run)
    assert len(h["action"]) == history_io.history_length(tiny_run) == 3000
    assert h["first"][0] and h["epsilon"][0] == 1.0 and h["epsilon"][-1] < 1.0
    np.testing.assert_array_equal(h["reward_clip"], np.sign(h["reward_raw"]))
    assert (h["frame"].reshape(3000, -1).max(1) > 0).all()            # real frames, not zeros
    scores, steps = curve_scores(tiny_run)
    assert len(scores) >= 5 and scores == games_in_history(h)          # the curve is the history's games
    assert checkpoints.list_checkpoints(tiny_run) == [0, 1000, 2000, 3000]
    for s in checkpoints.list_checkpoints(tiny_run):
        with open(checkpoints.checkpoint_name(tiny_run, s) + ".json") as f:
            assert json.load(f)["steps"] == s
    summary = json.load(open(tiny_run + "_results/breakout/teacher_summary.json"))
    assert summary["steps"] == 3000 and summary["games"] == len(scores)


def finish(p):
    _, err = p.communicate()
    assert p.returncode == 0, err.decode()[-2000:]
    return err.decode()


def curve_rows(run_dir):
    with open(os.path.join(run_dir, "curve.csv")) as f:
        return list(csv.reader(f))


def final_weights(run_dir):
    with np.load(checkpoints.checkpoint_name(run_dir, 3000) + ".npz", allow_pickle=False) as z:
        return z["params"]


@pytest.fixture(scope="module")
def one_thread_run(tmp_path_factory):
    """The tiny run with one BLAS thread, uninterrupted: what every resumed run must equal."""
    out = tmp_path_factory.mktemp("one_thread") / "run"
    finish(run_record(out, threads=1))
    return str(out)


def test_kill_and_resume_goes_on_exactly_as_if_never_stopped(tmp_path, one_thread_run):
    out = tmp_path / "run"
    p = run_record(out, threads=1)
    deadline = time.time() + 120
    while not os.path.exists(checkpoints.checkpoint_name(str(out), 1000) + ".json"):
        assert p.poll() is None and time.time() < deadline, "run ended before it could be killed"
        time.sleep(0.02)
    time.sleep(0.6)                                     # die somewhere after the 1000-step checkpoint
    p.send_signal(signal.SIGKILL)
    p.wait()
    resume_at = checkpoints.list_checkpoints(str(out))[-1]
    assert resume_at < 3000, "killed too late to test resuming"
    finish(run_record(out, threads=1))
    h, ref = load_all(str(out)), load_all(one_thread_run)
    assert not ref["first"][resume_at], "the resume point must fall inside a game to test replaying it"
    for k in history_io.FIELDS:                             # step for step the uninterrupted run's history ...
        np.testing.assert_array_equal(h[k], ref[k], err_msg=k)
    assert curve_rows(str(out)) == curve_rows(one_thread_run)          # ... its games, scores and lengths
    np.testing.assert_array_equal(final_weights(str(out)), final_weights(one_thread_run))   # ... its teacher
    assert json.load(open(out / "history.json"))["segments"] == [[0, 0]]
    sessions = json.load(open(out / "sessions.json"))                  # both pieces, with their times and CPU
    assert [x["steps"] for x in sessions] == [[0, resume_at], [resume_at, 3000]] and sessions[0]["cpu"]["name"]
    summary = json.load(open(str(out) + "_results/run/teacher_summary.json"))
    assert summary["sessions"] == sessions and summary["record_minutes"] == pytest.approx(
        sum(x["minutes"] for x in sessions))


def test_a_replay_that_does_not_match_starts_a_fresh_game_and_says_so(tmp_path, one_thread_run):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(one_thread_run, out)
    for s in (3000, 2000):                              # as if killed just after the 1000-step checkpoint
        for ext in (".npz", ".json"):
            os.remove(checkpoints.checkpoint_name(str(out), s) + ext)
    cols = history_io.read_chunk(history_io.chunk_path(str(out), 500), 500)
    cols["frame"][100] ^= 1                             # step 600 no longer shows what the emulator shows
    history_io.write_chunk(str(out), 500, cols)
    err = finish(run_record(out, threads=1))
    assert "replayed step 600 shows another frame" in err and "a fresh game starts at step 1000" in err
    h = load_all(str(out))
    assert len(h["action"]) == 3000 and h["first"][1000]               # nothing lost; a new game at the resume
    assert json.load(open(out / "history.json"))["segments"] == [[0, 0], [1000, 1000]]
    scores, _ = curve_scores(str(out))
    assert scores == games_in_history(h)


def test_two_runs_with_one_thread_are_identical(tmp_path, one_thread_run):
    other = tmp_path / "r1"
    finish(run_record(other, threads=1))
    a, b = load_all(one_thread_run), load_all(str(other))
    for k in history_io.FIELDS:
        np.testing.assert_array_equal(a[k], b[k])
    np.testing.assert_array_equal(final_weights(one_thread_run), final_weights(str(other)))


def test_damaged_or_missing_chunk_is_named(tmp_path, tiny_run):
    import shutil
    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    path = history_io.chunk_path(str(run), 1000)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF                        # one flipped byte in the compressed frames
    open(path, "wb").write(bytes(data))
    with pytest.raises(history_io.HistoryError, match="damaged history chunk .*chunk_0000001000.npz"):
        load_all(str(run))
    os.remove(path)
    with pytest.raises(history_io.HistoryError, match="missing history chunk .*chunk_0000001000.npz"):
        load_all(str(run))
    with pytest.raises(history_io.HistoryError, match="no recorded history"):
        history_io.history_length(str(tmp_path / "nowhere"))


def test_bad_game_and_changed_settings_are_refused(tmp_path, tiny_run):
    p = run_record(tmp_path / "x", "--game", "pong")
    _, err = p.communicate()
    assert p.returncode != 0 and b"valid games: breakout, breakout_swapped, space_invaders" in err
    p = run_record(tiny_run, "--lr", "0.5")
    _, err = p.communicate()
    assert p.returncode != 0 and b"other settings" in err


def test_init_from_continues_the_final_teacher_in_another_game(tmp_path, tiny_run):
    """The "learning on" arms: the final teacher, its optimizer and step count, carried into a new run."""
    out = tmp_path / "si"
    p = run_record(out, "--game", "space_invaders", "--init_from", tiny_run, "--steps", "1000")
    _, err = p.communicate()
    assert p.returncode == 0, err.decode()[-2000:]
    start = np.load(checkpoints.checkpoint_name(str(out), 0) + ".npz", allow_pickle=False)["params"]
    final = np.load(checkpoints.checkpoint_name(tiny_run, 3000) + ".npz", allow_pickle=False)["params"]
    np.testing.assert_array_equal(start, final)
    meta = json.load(open(checkpoints.checkpoint_name(str(out), 1000) + ".json"))
    assert meta["steps"] == 4000                        # the agent's own clock went on from 3000
    h = load_all(str(out))
    assert len(h["action"]) == 1000 and np.allclose(h["epsilon"], 0.01)   # past the decay: no re-exploring
    assert not np.array_equal(np.load(checkpoints.checkpoint_name(str(out), 1000) + ".npz", allow_pickle=False)["params"], final)


def test_frozen_teacher_recording_has_the_history_format(tmp_path, tiny_run):
    """record.py --frozen: the final teacher only plays; the history reads like any other."""
    teacher = checkpoints.checkpoint_name(tiny_run, 3000)
    out = tmp_path / "frozen"
    p = run_record(out, "--frozen", teacher, "--frozen_eps", "0.05", "--steps", "1000")
    _, err = p.communicate()
    assert p.returncode == 0, err.decode()[-2000:]
    h = load_all(str(out))
    assert len(h["action"]) == 1000 and set(h) == set(history_io.FIELDS)
    assert np.allclose(h["epsilon"], 0.05) and h["first"][0]
    final = np.load(teacher + ".npz", allow_pickle=False)["params"]
    for step in checkpoints.list_checkpoints(str(out)):   # the weights never change: no learning happened
        np.testing.assert_array_equal(np.load(checkpoints.checkpoint_name(str(out), step) + ".npz",
                                              allow_pickle=False)["params"], final)
    last = checkpoints.list_checkpoints(str(out))[-1]        # its step count goes on from the teacher's (epsilon,
    meta = json.load(open(checkpoints.checkpoint_name(str(out), last) + ".json"))    # learning start of a later learner)
    assert last == 1000 and meta["steps"] == 3000 + 1000
    assert max(record.read_curve(str(out))[0], default=0) <= 1000  # the curve counts this run's own steps
    summary = json.load(open(str(out) + "_results/frozen/teacher_summary.json"))
    assert summary["frozen"] == teacher and not os.path.exists(str(out) + "_results/frozen/teacher_final.npz")
    cfg_path = out / "config.json"                      # the run keeps the teacher's settings (a learner
    cfg = json.load(open(cfg_path))                     # started from it inherits them), not its agent's
    assert cfg["dqn"]["replay_capacity"] == json.load(open(os.path.join(tiny_run, "config.json")))["dqn"]["replay_capacity"]
    cfg["dqn"]["replay_capacity"] = 1000                # as frozen runs stored it before: still the same run
    json.dump(cfg, open(cfg_path, "w"))
    p = run_record(out, "--frozen", teacher, "--frozen_eps", "0.05", "--steps", "2000")
    _, err = p.communicate()
    assert p.returncode == 0, err.decode()[-2000:]
    assert history_io.history_length(str(out)) == 2000


def test_bad_flags_stop_before_anything_is_written(tmp_path):
    for args, message in (("--steps -5", b"--steps -5 must be a positive"),
                          ("--frozen nowhere", b"--frozen nowhere: needs nowhere.npz"),
                          ("--checkpoint_every 700", b"must be a multiple of --chunk_steps"),
                          ("--gamma 2", b"--gamma 2.0 must be in [0, 1]"),
                          ("--batch_size 0", b"--batch_size 0 must be positive")):
        p = run_record(tmp_path / "x", *args.split())
        _, err = p.communicate()
        assert p.returncode != 0 and message in err and b"Traceback" not in err, err
        assert not os.path.exists(tmp_path / "x")


def test_chunk_shorter_than_its_index_entry_is_a_history_error(tmp_path, tiny_run):
    import shutil
    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    cols = history_io.read_chunk(history_io.chunk_path(str(run), 500), 500)
    history_io.write_chunk(str(run), 500, {k: v[:100] for k, v in cols.items()})
    with pytest.raises(history_io.HistoryError, match="holds 100 steps, index says 500"):
        load_all(str(run))


def test_a_run_resumed_with_other_kernels_says_so(tmp_path, monkeypatch, capsys):
    """The kernels (their vector width, pinned or not, the libraries' versions) set the order of
    float sums: config.json keeps what the run started with, and a resume with other kernels is
    accepted (the same settings) but says the run is no longer bit for bit one."""
    rc, dc = record.RecordConfig(game="breakout", out=str(tmp_path), steps=1_000), dqn.DQNConfig()
    monkeypatch.setattr(toolbox, "kernel_width", lambda: "AVX-512")
    monkeypatch.setattr(toolbox, "numerics", lambda: "native")
    checkpoints.claim_run(rc, dc, str(tmp_path), 0)
    checkpoints.claim_run(rc, dc, str(tmp_path), 0)                       # resumed with the same: silent
    assert "resumed" not in capsys.readouterr().out
    monkeypatch.setattr(toolbox, "kernel_width", lambda: "AVX2")
    monkeypatch.setattr(toolbox, "numerics", lambda: "portable")
    checkpoints.claim_run(rc, dc, str(tmp_path), 0)                       # the same run, still accepted
    out = capsys.readouterr().out
    assert "started with cpu_vectors AVX-512, resumed with AVX2" in out
    assert "started with numerics native, resumed with portable" in out
    cfg = json.load(open(tmp_path / "config.json"))
    assert cfg["cpu_vectors"] == "AVX-512" and cfg["numerics"] == "native"
    assert cfg["libraries"] == toolbox.library_versions()
    assert set(cfg["libraries"]) == {"numpy", "numba", "blas", "blas_core"}


def test_the_command_pins_its_kernels_unless_asked_for_native_ones(tiny_run, tmp_path):
    """record.py starts itself again with OpenBLAS, Numba and NumPy pinned to AVX2 kernels (so that
    any AVX2 CPU records the same run); --numerics native leaves each CPU its own; a bad value is
    refused, naming the flag."""
    cfg = json.load(open(os.path.join(tiny_run, "config.json")))
    assert cfg["numerics"] == "portable" and cfg["cpu_vectors"] == "AVX2" and cfg["libraries"]["blas_core"] == "Haswell"
    finish(run_record(tmp_path / "native", "--numerics", "native", "--steps", "600", "--checkpoint_every", "500"))
    cfg = json.load(open(tmp_path / "native" / "config.json"))
    assert cfg["numerics"] == "native" and cfg["cpu_vectors"] == toolbox.cpu_flags()
    p = run_record(tmp_path / "bad", "--numerics", "fast")
    _, err = p.communicate()
    assert p.returncode != 0 and "--numerics 'fast'" in err.decode() and not os.path.exists(tmp_path / "bad")
    pinned = dict(toolbox.PORTABLE_NUMERICS)
    assert toolbox.numerics(pinned) == "portable" and toolbox.kernel_width(pinned) == "AVX2"
    assert toolbox.numerics({**pinned, "NUMBA_CPU_NAME": "host"}) == "native" and toolbox.numerics({}) == "native"
    assert toolbox.numerics({**pinned, "OPENBLAS_NUM_THREADS": "2"}) == "native"


def test_the_pinned_command_records_the_one_thread_run_whatever_threads_it_is_given(tmp_path, one_thread_run):
    """Two BLAS threads add some products' floats in another order (this tiny run's final weights
    differed with two threads before the thread count was pinned); pinned, the command starts
    itself again with one thread, so a process given two records the one-thread run bit for bit."""
    finish(run_record(tmp_path / "two", threads=2))
    assert curve_rows(str(tmp_path / "two")) == curve_rows(one_thread_run)
    np.testing.assert_array_equal(final_weights(str(tmp_path / "two")), final_weights(one_thread_run))


def test_same_as_stops_at_the_first_game_that_differs(tmp_path, one_thread_run):
    """--same_as: a run must repeat a reference curve game for game; the same run does, and a
    reference whose game 3 scored one point more stops it right after that game."""
    curve = os.path.join(one_thread_run, "curve.csv")
    finish(run_record(tmp_path / "same", "--same_as", curve, threads=1))
    assert curve_rows(str(tmp_path / "same")) == curve_rows(one_thread_run)
    rows = curve_rows(one_thread_run)
    assert len(rows) > 5, "the tiny run has too few games for this test"
    rows[4][2] = str(float(rows[4][2]) + 1)                          # rows[0] is the header
    ref = tmp_path / "other_curve.csv"
    ref.write_text("\n".join(",".join(r) for r in rows) + "\n")
    p = run_record(tmp_path / "other", "--same_as", str(ref), threads=1)
    _, err = p.communicate()
    assert p.returncode != 0 and "--same_as" in err.decode() and "game 3 differs" in err.decode()
    assert [r[1] for r in curve_rows(str(tmp_path / "other"))[1:]] == ["0", "1", "2", "3"]   # stopped there
    p = run_record(tmp_path / "none", "--same_as", str(tmp_path / "nope.csv"))
    _, err = p.communicate()
    assert p.returncode != 0 and "no such curve.csv" in err.decode() and not os.path.exists(tmp_path / "none")


def test_a_folder_has_one_writer_at_a_time(tiny_run, tmp_path):
    """The same command started twice on one folder (run again while the first still runs): the
    second stops at once, naming the holder, and writes nothing; once the first ends, it is free."""
    import imitate
    import play
    held = str(tmp_path / "held")
    with toolbox.one_writer(held, "recorded"):
        with pytest.raises(SystemExit, match=rf"held is being recorded by another process \(pid {os.getpid()}\)"):
            record.record(record.RecordConfig(game="breakout", out=held, steps=1_000, chunk_steps=500,
                                              checkpoint_every=1_000), dqn.DQNConfig())
        with pytest.raises(SystemExit, match="held is being played by another process"):
            play.play_arm(held, "breakout", policy=None, n_games=1)
        with pytest.raises(SystemExit, match="held is being trained by another process"):
            imitate.train(imitate.ImitateConfig(history=tiny_run, out=held, iters=2))
        assert os.listdir(held) == [".lock"]                          # nothing written
    with toolbox.one_writer(held):                                    # freed when the first one ended
        pass


def test_a_file_system_without_locks_is_written_unguarded_and_says_so(tmp_path, monkeypatch, capsys):
    def no_locks(f, how):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(toolbox.fcntl, "flock", no_locks)
    ran = []
    with toolbox.one_writer(str(tmp_path / "nfs")):
        ran.append(True)
    assert ran and "cannot be locked (No locks available)" in capsys.readouterr().out
