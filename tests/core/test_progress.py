"""Progress display: one plain line per iteration when standard error is not a terminal."""

import io

from jointinv.solvers.progress import IterationReporter, format_row, progress_bar

ROW = {"iteration": 3, "phi": 10.0, "phi_d[tt]": 240.0, "phi_d[dcr]": 50.0,
       "phi_m[tt]": 0.5, "phi_m[dcr]": 0.25, "coupling[NormalizedCrossGradient0]": 0.01,
       "beta[tt]": 12.5, "beta[dcr]": 3.0, "step": 0.5, "cg_iterations": 7, "time": 1.0}


def test_format_row_shows_every_term():
    assert format_row(ROW, {"tt": 120.0, "dcr": 50.0}) == (
        "it 3 beta[tt]=12.5 beta[dcr]=3 phi_d[tt]/target=2 phi_d[dcr]/target=1 "
        "phi_m[tt]=0.5 phi_m[dcr]=0.25 coupling[NormalizedCrossGradient0]=0.01 step=0.5 cg=7")
    assert format_row({"iteration": 1, "phi_d[a]": 2.0}, {}) == "it 1 phi_d[a]=2"


def test_reporter_writes_plain_lines_and_the_stopping_reason_to_a_log():
    log = io.StringIO()  # not a terminal
    reporter = IterationReporter(10, "Gauss-Newton", {"tt": 120.0, "dcr": 50.0}, stream=log)
    reporter.row(ROW)
    reporter.row({**ROW, "iteration": 4})
    reporter.stop("every data set at its target misfit")
    reporter.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 3
    assert lines[0].startswith("Gauss-Newton it 3 beta[tt]=12.5")
    assert lines[1].startswith("Gauss-Newton it 4 ")
    assert lines[2] == "Gauss-Newton stopped: every data set at its target misfit"


def test_disabled_reporter_and_bar_write_nothing():
    log = io.StringIO()
    reporter = IterationReporter(10, "Adam", {}, enabled=False, stream=log)
    reporter.row(ROW)
    reporter.stop("done")
    reporter.close()
    bar = progress_bar(5, "sequential", enabled=False, stream=log)
    bar.update(1)
    bar.close()
    assert log.getvalue() == ""


def test_progress_bar_in_a_log_is_one_line_per_step():
    log = io.StringIO()
    bar = progress_bar(3, "sequential", stream=log)
    bar.update(1)
    bar.set_postfix({"phi_d[tt]/target": "1.5"})
    bar.update(1)
    bar.close()
    assert log.getvalue() == ("sequential 1/3 phi_d[tt]/target=1.5\n"
                              "sequential 2/3 phi_d[tt]/target=1.5\n")


def test_reporter_draws_a_bar_in_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    reporter = IterationReporter(10, "Gauss-Newton", {"tt": 120.0}, stream=screen)
    reporter.row(ROW)
    reporter.stop("iterations exhausted")
    reporter.close()
    assert "\r" in screen.getvalue() and "phi_d[tt]/target=2" in screen.getvalue()
    assert screen.getvalue().endswith("Gauss-Newton stopped: iterations exhausted\n")
