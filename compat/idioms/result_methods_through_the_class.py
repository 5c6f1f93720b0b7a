# Idiom program, written for netpool (not a copy of public code).
# What it does: calls the methods of multiprocessing.pool's result classes through the class
# on a pool's results (`map(ApplyResult.wait, async_results)`, `IMapIterator.next(it)`),
# and patches `IMapIterator.next` to wait with a timeout, then calls `it.next()`.
# Idiom as seen in: Stack Overflow "Can't pickle <type 'instancemethod'> when using
#   multiprocessing Pool.map()", https://stackoverflow.com/questions/1816958 (an answer
#   that waits with `map(ApplyResult.wait, async_results)`, copied in several GitHub
#   repositories); Stack Overflow "Keyboard Interrupts with python's multiprocessing Pool",
#   https://stackoverflow.com/questions/1408356 (`IMapIterator.next = wrapper(...)`, also in
#   CloudBioLinux's and Galaxy's S3 multipart upload scripts).
# Written anew in these idioms; no code copied.
# Changes: the tasks are small arithmetic.
import multiprocessing
from multiprocessing.pool import ApplyResult, AsyncResult, IMapIterator, MapResult


def cube(x):
    return x ** 3


def with_timeout(next_method):
    def next_with_timeout(self, timeout=None):
        # A timeout makes the wait interruptible by Ctrl-C (the recipe's reason).
        return next_method(self, timeout=timeout if timeout is not None else 3600)
    return next_with_timeout


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        pending = [pool.apply_async(cube, (i,)) for i in range(6)]
        list(map(ApplyResult.wait, pending))
        print([r.ready() for r in pending], [AsyncResult.get(r) for r in pending])
        both = pool.map_async(cube, range(4))
        print(MapResult.get(both, 30), MapResult.successful(both))
        it = pool.imap(cube, range(4))
        print(IMapIterator.next(it), IMapIterator.__next__(it), list(it))

        IMapIterator.next = with_timeout(IMapIterator.next)
        it = pool.imap(cube, range(3))
        print(it.next(), it.next(), it.next())
        try:
            it.next()
        except StopIteration:
            print("StopIteration")
