"""watch.py: GIFs of players side by side, and clear errors for missing weights."""
import os

import pytest

import imitate
import checkpoints
import toolbox
import watch
from test_imitate import tiny_config


def test_gifs_of_teacher_imitator_and_transplant(tiny_run, tmp_path):
    from PIL import Image                                    # matplotlib's own dependency
    imitate.train(tiny_config(tiny_run, tmp_path / "im", iters=2), log=lambda *a: None)
    teacher = checkpoints.checkpoint_name(tiny_run, checkpoints.list_checkpoints(tiny_run)[-1])
    c = watch.WatchConfig(teacher=teacher, imitator=str(tmp_path / "im" / "imitator"), transplant=tiny_run,
                          steps=12, every=3, out=str(tmp_path / "out"))
    made = watch.watch(c)
    assert [os.path.basename(m["path"]) for m in made] == ["watch_breakout.gif", "watch_space_invaders.gif"]
    gif = Image.open(made[0]["path"])
    assert gif.n_frames == 4                                 # 12 steps, one frame in 3
    assert len(made[1]["final_scores"]) == 3                 # teacher early, teacher late, imitator
    kept = toolbox.read_json(str(tmp_path / "out" / "watch.json"))
    assert kept["gifs"] == made and kept["imitator"] == c.imitator and kept["steps"] == 12


def test_missing_weights_name_the_flag(tmp_path):
    with pytest.raises(SystemExit, match="--imitator .*nothing"):
        watch.watch(watch.WatchConfig(imitator=str(tmp_path / "nothing")))
    with pytest.raises(SystemExit, match="--transplant"):
        watch.watch(watch.WatchConfig(transplant=str(tmp_path)))
    for kw, message in ((dict(steps=0), "--steps 0 must be positive"), (dict(eps=2.0), "--eps 2.0")):
        with pytest.raises(SystemExit, match=message):
            watch.watch(watch.WatchConfig(out=str(tmp_path / "o"), **kw))
    assert not os.path.exists(tmp_path / "o")
