# Idiom program, written for netpool (not a copy of public code).
# What it does: reads the main module's `__annotations__` and `globals()` in a script that
# has no top-level annotation of its own (a dataclass-like "fields from the module's
# annotations" helper, and a debugging print of the globals' names), then annotates
# variables in a function called with exec at top level, and runs a Pool.
# Idiom as seen in: the PEP 526 examples of reading `__annotations__` at module level
#   (https://peps.python.org/pep-0526/#runtime-effects-of-type-annotations), and scripts
#   that print `sorted(globals())` to look at the main module's names.
# Written anew in this idiom; no code copied.
# Changes: none (written for this corpus).
import multiprocessing
import sys


def declared_fields(namespace):
    return dict(namespace.get("__annotations__", {"<none>": None}))


def scale(x):
    return 10 * x


print(sorted(name for name in globals() if name.startswith("__")))
print(declared_fields(globals()))
if sys.version_info < (3, 14):
    print(__annotations__)  # noqa: F821 -- python's __main__ has it, empty, before 3.14
exec("width: int = 3\nheight: float = 1.5", globals())
print(declared_fields(globals()), width * height)

if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(pool.map(scale, range(4)))
