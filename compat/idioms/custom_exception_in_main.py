# Idiom program, written for netpool (not a copy of public code).
# What it does: an exception class defined in the main script, raised in a task and caught
# by its own type in the parent; its args and message survive the trip.
# Idiom as seen in: no single program: the recurring Stack Overflow advice (CC BY-SA) that an exception
#   raised in a pool task must be picklable, i.e. pass all its arguments to
#   Exception.__init__, applied to a class defined in the main script.
# Written anew in that idiom; no code copied.
# Changes: none needed.
import multiprocessing


class ValidationError(Exception):
    def __init__(self, item, why):
        super().__init__(item, why)
        self.item = item
        self.why = why

    def __str__(self):
        return f'{self.item!r} is invalid: {self.why}'


def check(x):
    if x % 3 == 0:
        raise ValidationError(x, 'multiple of three')
    return x


if __name__ == '__main__':
    with multiprocessing.Pool(2) as pool:
        for x in range(5):
            try:
                print(pool.apply(check, (x,)))
            except ValidationError as e:
                print('caught', type(e).__name__, e, e.item, e.why)
        try:
            pool.map(check, [1, 2, 3])
        except ValidationError as e:
            print('map raised', e)
