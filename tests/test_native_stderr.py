"""vision.detect.native.quiet_native_stderr: hiding the models' start-up chatter from several threads at once."""
import os
import sys
import threading

from vision.detect.native import quiet_native_stderr


def _same_file(a: int, b: int) -> bool:
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def test_overlapping_quiet_spans_in_two_threads_give_stderr_back(tmp_path, monkeypatch):
    """A enters, B enters, A leaves, B leaves (two pool instances starting side by side): stderr is silenced
    while either is inside and is the original file again afterwards, not /dev/null (which silenced the
    progress bar of every two-instance run)."""
    err = open(tmp_path / "stderr.txt", "w")
    monkeypatch.setattr(sys, "stderr", err)  # a real file descriptor in place of pytest's capture
    fd = err.fileno()
    original = os.dup(fd)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    inside = []

    def a():
        with quiet_native_stderr():
            a_in.set()
            b_in.wait(5)
            inside.append(_same_file(fd, original))
        a_out.set()

    def b():
        a_in.wait(5)
        with quiet_native_stderr():
            b_in.set()
            a_out.wait(5)
            inside.append(_same_file(fd, original))  # A has left, B is still inside: still quiet

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert inside == [False, False]
    assert _same_file(fd, original)
    os.close(original)
    err.close()
