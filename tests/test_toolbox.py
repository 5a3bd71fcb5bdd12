"""toolbox.py: what every page shares (most of it is tested where a page uses it)."""
import toolbox


def test_progress_bars_write_whole_lines_into_a_log_file(capsys):
    """Off a terminal (pytest captures stderr, as nohup's log does), each update of a progress bar
    is one plain line, not carriage returns, and a run of a second writes its first and last."""
    for _ in toolbox.progress(range(3), desc="counting", unit="step"):
        pass
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") >= 2 and "counting: 100%" in err.splitlines()[-1]


def test_a_bar_with_a_postfix_each_step_still_writes_few_lines_into_a_log(capsys):
    """The pages update their bars' postfix (loss, score) every step; with refresh=False that must
    not write a line each time: a thousand quick steps give the first line and the last, no more."""
    bar = toolbox.progress(total=1000, desc="training", unit="step")
    for k in range(1000):
        bar.update(1)
        bar.set_postfix(loss=f"{1 / (k + 1):.3f}", refresh=False)
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert 1 <= len(lines) <= 3 and "training: 100%" in lines[-1] and "loss=0.001" in lines[-1], lines
