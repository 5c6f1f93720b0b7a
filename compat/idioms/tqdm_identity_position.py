# Idiom program, written for netpool (not a copy of public code).
# What it does: each worker picks its tqdm line from current_process()._identity[0], with
# tqdm's lock shared through the initializer.
# Idiom as seen in: dataaug/multi_bar process_bar.py (GitHub, by dataaug).
# Written anew in the source's idiom; no code copied.
# Changes: 6 tasks of 10 steps, sleeping 0.005 s (not 30 tasks sleeping up to 1 s); the
#   sleeps are fixed, not random; 2 processes.
# compat: progress-bars
from time import sleep
from tqdm import tqdm
from multiprocessing import Pool, freeze_support, current_process


def progresser(n):
    text = f'#{n}'
    sampling_counts = 10
    current = current_process()
    pos = current._identity[0] - 1
    with tqdm(total=sampling_counts, desc=text, position=pos) as pbar:
        for i in range(sampling_counts):
            sleep(0.005)
            pbar.update(1)
    return pos


if __name__ == '__main__':
    freeze_support()
    L = list(range(6))
    with Pool(2, initializer=tqdm.set_lock, initargs=(tqdm.get_lock(),)) as p:
        positions = p.map(progresser, L)
        print('\n' * 2)
    print(sorted(set(positions)))
