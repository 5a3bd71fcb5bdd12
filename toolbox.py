"""toolbox.py: what every page needs and none of them teaches. A student may skip this page.

The lesson pages (dqn.py, record.py, transformer.py, imitate.py, ...) keep to their lesson; the
plumbing they share lives here, once:

  - a config dataclass as a command line: every field a --flag, its comment the flag's --help
  - the checks that stop a run at once on a bad number, naming the flag
  - files written atomically (a crash never leaves half a file) and read back without pickle, and
    one writer at a time in a run's folder
  - flat parameter vectors: one float array per model, each weight a view into it
  - the C allocator setting that keeps freed memory for the next training step, the CPU's name,
    and the pinned kernels that let any AVX2 CPU record the same run (use_numerics)
  - a moving average, a random stream per name, and matplotlib set up to write files (the
    bootstrap is verdict.py's: that page teaches it)
  - progress bars that stay readable in a background job's log

Nothing here imports a lesson page, so any page may import it.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import fcntl
import glob
import inspect
import json
import os
import platform
import re
import sys
import zlib

import numpy as np
from tqdm import tqdm


# -------------------------------------------------------------------------------------------
# Config dataclasses as command lines
# -------------------------------------------------------------------------------------------
def field_comments(cls):
    """The comment written after each field of a config dataclass, continuation lines included:
    the one place a setting is explained, read from the source so --help and code never disagree.
    A config that extends another (page 7's extends page 6's) has its parent's comments too."""
    comments = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        current = None
        for line in inspect.getsource(klass).splitlines()[1:]:
            field = re.match(r"\s+(\w+)\s*:[^=]*=[^#]*(#\s?(.*))?$", line)
            if field:
                current = field.group(1)
                comments[current] = (field.group(3) or "").strip()
            elif current and re.match(r"\s+#", line):           # a comment continuing the field's
                comments[current] += " " + line.strip()[1:].strip()
    return comments


def add_config_flags(parser, cls):
    """One --flag per dataclass field, with the field's default, type and comment as its help. A
    bool flag alone means true (--quick); it also takes a value (--quick false)."""
    comments = field_comments(cls)
    for f in dataclasses.fields(cls):
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        helptext = f"{comments.get(f.name, '')} (default: {f.default})".strip().replace("%", "%%")
        if kind == "bool":
            parser.add_argument("--" + f.name, type=lambda s: s.lower() in ("1", "true", "yes"), nargs="?",
                                const=True, default=f.default, help=helptext)
        else:
            parser.add_argument("--" + f.name, type={"int": int, "float": float, "str": str}[kind],
                                default=f.default, help=helptext)


def config_from_args(cls, args):
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


def check_positive(c, names):
    """Stop at once, naming the flag, if any of the config's fields `names` is not above zero."""
    for name in names:
        if getattr(c, name) <= 0:
            raise SystemExit(f"--{name} {getattr(c, name)} must be positive")


# -------------------------------------------------------------------------------------------
# Files: JSON and .npz only, written atomically, read without pickle
# -------------------------------------------------------------------------------------------
def write_json(path, obj):
    """Write JSON atomically (temp file, then rename), so a crash never leaves half a file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def read_json(path):
    """The JSON file at path, or None if there is none."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


@contextlib.contextmanager
def one_writer(folder, doing="written"):
    """Let one process at a time write into `folder` (a long run's: a record, a training, an arm):
    an advisory lock on folder/.lock, held while the block runs and freed by the system the moment
    the process ends, however it ends. A second process (the same command started again while the
    first still runs) stops at once, naming the holder, instead of interleaving its files."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".lock"), "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except BlockingIOError:
            f.seek(0)
            raise SystemExit(f"{folder} is being {doing} by another process (pid {f.read().strip() or '?'}): "
                             f"wait for it to end, or stop it, then run this again (it resumes)") from None
        except OSError as e:                               # a file system without locks (an old NFS)
            print(f"{folder}: cannot be locked ({e.strerror}); nothing stops a second process writing here")
            locked = False
        if locked:
            f.truncate(0)
            f.write(str(os.getpid()))
            f.flush()
        try:
            yield
        finally:
            if locked:
                fcntl.flock(f, fcntl.LOCK_UN)


def save_npz(path, **arrays):
    """Write path (ending .npz) atomically: to a temporary file, then rename."""
    tmp = path[:-len(".npz")] + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def save_npy(path, array):
    """Write one array to path (ending .npy) atomically: to a temporary file, then rename."""
    tmp = path[:-len(".npy")] + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


# -------------------------------------------------------------------------------------------
# Flat parameters: one array per model, so that Adam, checkpoints and copies are one operation
# -------------------------------------------------------------------------------------------
def n_params(shapes):
    """How many numbers the named shapes [(name, shape), ...] hold together."""
    return sum(int(np.prod(s)) for _, s in shapes)


def param_views(flat, shapes):
    """Name -> view into the flat vector, in order; writing a view writes the vector."""
    views, i = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape))
        views[name] = flat[i:i + n].reshape(shape)
        i += n
    assert i == flat.size, f"shapes hold {i} numbers, the vector {flat.size}"
    return views


def alloc_params(shapes, dtype=np.float32):
    """A zeroed flat vector for the named shapes, and its views: (flat, views)."""
    flat = np.zeros(n_params(shapes), dtype)
    return flat, param_views(flat, shapes)


# -------------------------------------------------------------------------------------------
# Memory
# -------------------------------------------------------------------------------------------
def keep_freed_memory():
    """Ask the C allocator to keep the memory NumPy frees, for reuse, instead of handing it back.

    A training step allocates the same few hundred MB of activations every time. By default glibc
    returns big blocks to the operating system when they are freed, and the next step pays a page
    fault (and the zeroing of a page) for every 4 KB it touches again: measured here, ~15-20% of a
    transformer training step. Two allocator settings keep them: blocks up to 32 MB come from the
    reusable heap (M_MMAP_THRESHOLD), and the heap is never trimmed (M_TRIM_THRESHOLD). The process
    keeps its peak memory until it exits. glibc only; elsewhere nothing happens."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)                 # M_MMAP_THRESHOLD: the largest glibc allows
        libc.mallopt(-1, 2 ** 31 - 1)                      # M_TRIM_THRESHOLD: never trim
    except (OSError, AttributeError):
        pass


def cpu_name():
    """The CPU's model name (Linux's /proc/cpuinfo), else what the platform module says: printed
    with every speed figure, since the machine can change between runs."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def cpu_info():
    """The CPU as a record names it: model name, family and model numbers (Linux's /proc/cpuinfo; a
    model name alone, "AMD EPYC", can be Zen 1, 3 or 4) and the widest vector instructions."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("cpu family", "model") and key.strip() not in fields:
                    fields[key.strip()] = value.strip()
    except OSError:
        pass
    return dict(name=cpu_name(), family=fields.get("cpu family", "?"), model=fields.get("model", "?"),
                vector=cpu_flags())


def cpu_flags():
    """The widest vector instructions the CPU has: "AVX-512", "AVX2" or "no AVX2" ("?" if unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
        return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    except (OSError, StopIteration):
        return "?"


# The same run is bit for bit the same only where the same kernels add its floats in the same order:
# OpenBLAS picks its matrix kernels by CPU, Numba compiles for the CPU it runs on (its name and its
# features: both are given, or Numba reads the host's features and may use AVX-512), NumPy
# dispatches some loops to AVX-512. Pinned to one kernel family every x86-64 CPU with AVX2 has
# (Haswell's: AVX2 and FMA), a run can be recorded again on any such CPU, an AVX-512 one included.
# And with one BLAS thread: OpenBLAS's default is one thread per core, and two threads add some
# products' floats in another order (a 3000-step run's final weights differ; the teacher's record,
# resumed at 50k steps with two threads, parted from itself at game 301), so without it a 2-core and
# a 4-core machine would record two teachers.
# These variables are read when the libraries load, so a process is started with them (use_numerics).
PORTABLE_NUMERICS = {"OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+avx2,+fma",
                     "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_NUM_THREADS": "1"}


def numerics(environ=None):
    """ "portable" if this process was started with PORTABLE_NUMERICS in its environment, else
    "native" (each library picks the kernels of the CPU at hand)."""
    environ = os.environ if environ is None else environ
    return "portable" if all(environ.get(k) == v for k, v in PORTABLE_NUMERICS.items()) else "native"


def kernel_width(environ=None):
    """The vector width of the kernels this process computes with: "AVX2" when pinned, else the CPU's."""
    return "AVX2" if numerics(environ) == "portable" else cpu_flags()


def use_numerics(kind):
    """Run the rest of this script with the kernels `kind` asks for: "native" changes nothing;
    "portable" starts the script again (os.execve, same arguments) with PORTABLE_NUMERICS in its
    environment, unless it already runs so. Call it first thing in a script's main."""
    if kind not in ("portable", "native"):
        raise SystemExit(f"--numerics {kind!r}: choose portable (any AVX2 CPU records the same run) or native")
    if kind == "native" or numerics() == "portable":
        return
    if cpu_flags() not in ("AVX2", "AVX-512"):
        raise SystemExit(f"--numerics portable needs a CPU with AVX2; this one ({cpu_name()}) has "
                         f"{cpu_flags()}: use --numerics native")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **PORTABLE_NUMERICS})


def blas_core():
    """The OpenBLAS kernel family NumPy's matrix products run on in this process ("Haswell",
    "SkylakeX", "Zen", ...; "" if NumPy's BLAS is not a bundled OpenBLAS)."""
    for path in glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*")):
        lib = ctypes.CDLL(path)                            # the copy NumPy loaded: the same kernels
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            if hasattr(lib, name):
                getattr(lib, name).restype = ctypes.c_char_p
                return getattr(lib, name)().decode()
    return ""


def library_versions():
    """What does the arithmetic, by version (another version may add in another order): NumPy,
    Numba, the OpenBLAS NumPy calls, and the OpenBLAS kernels in use."""
    import numba
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {}).get("version", "")
    return dict(numpy=np.__version__, numba=numba.__version__, blas=blas, blas_core=blas_core())


# -------------------------------------------------------------------------------------------
# Numbers and plots
# -------------------------------------------------------------------------------------------
def named_rng(seed, name):
    """A random generator of its own for the consumer called `name` (an arm, a player), so that
    adding or removing one never shifts another's draws."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def moving_average(y, k):
    """Means of every k consecutive values of y (len(y) - k + 1 of them)."""
    return np.convolve(np.asarray(y, float), np.ones(k) / k, "valid")


def pyplot():
    """matplotlib's pyplot, drawing to files (no screen needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, ax, path, xlabel, ylabel, title, legend=8):
    """Label the axes, title and legend (its font size; 0: none) of ax, and write fig to path."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=legend)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def errorbars(ax, x, mean_lo_hi, **kw):
    """Points with their interval: mean_lo_hi (n, 3) rows of (mean, lower, upper)."""
    m = np.asarray(mean_lo_hi, float).reshape(-1, 3)
    return ax.errorbar(x, m[:, 0], yerr=[m[:, 0] - m[:, 1], m[:, 2] - m[:, 0]], capsize=3, **kw)


# -------------------------------------------------------------------------------------------
# Progress bars: live on a terminal, one plain line a minute in a log file
# -------------------------------------------------------------------------------------------
class LogLines:
    """A stream for a progress bar that writes each update as a whole line: a log file (nohup ...
    > log) then reads top to bottom instead of as one line of carriage returns."""
    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        text = text.replace("\r", "").rstrip()
        if text:
            self.stream.write(text + "\n")

    def flush(self):
        self.stream.flush()


def progress(iterable=None, **kw):
    """tqdm's progress bar on a terminal; when stderr is not one (a background job's log), a plain
    ASCII line at most once every LOG_PROGRESS_SECONDS."""
    if not sys.stderr.isatty():
        kw.update(mininterval=max(kw.get("mininterval", 0.1), LOG_PROGRESS_SECONDS), maxinterval=LOG_PROGRESS_SECONDS,
                  ascii=True, file=LogLines(sys.stderr))
    return tqdm(iterable, **kw)


LOG_PROGRESS_SECONDS = 60
