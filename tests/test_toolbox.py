"""toolbox.py: what every page shares (most of it is tested where a page uses it)."""
import toolbox


def test_progress_bars_write_whole_lines_into_a_log_file(capsys):
    """Off a terminal (pytest captures stderr, as nohup's log does), each update of a progress bar
    is one plain line, not carriage returns, and a run of a second writes its first and last."""
    for _ in toolbox.progress(range(3), desc="counting", unit="step"):
        pass
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") >= 2 and "counting: 100%" in err.splitlines()[-1]
