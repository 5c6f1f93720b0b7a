# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: NetworkX 3.6.1, examples/algorithms/plot_parallel_betweenness.py
#   (https://github.com/networkx/networkx, same path); obtained with
#   `pip download --no-binary :all: networkx==3.6.1`.
# Author: the NetworkX developers (Aric Hagberg, Dan Schult et al.).
# Licence: BSD-3-Clause (NetworkX's LICENSE.txt).
# Changes: the graph has 300 nodes, not 1000 (a run of 0.5 s, not 11 s here); the drawing
#   at the end removed (`import matplotlib.pyplot as plt`, `nx.draw(G, node_size=100)`,
#   `plt.show()`: no display, and matplotlib is not a dependency).
# No __main__ guard, a module-level Pool never closed, `len(p._pool)`, `starmap` over
# tuples holding the graph. The graph is random (no seed): node 0's centrality is masked.
# compat: requires networkx
# compat: mask node 0: \d+\.\d+ => node 0: <X>

"""
====================
Parallel Betweenness
====================

Example of parallel implementation of betweenness centrality using the
multiprocessing module from Python Standard Library.

The function betweenness centrality accepts a bunch of nodes and computes
the contribution of those nodes to the betweenness centrality of the whole
network. Here we divide the network in chunks of nodes and we compute their
contribution to the betweenness centrality of the whole network.

Note: The example output below may show that the non-parallel implementation is
faster. This is a limitation of our CI/CD pipeline.

Depending on your setup, you will likely observe a speedup.
"""

from multiprocessing import Pool
import time
import itertools

import networkx as nx


def chunks(l, n):
    """Divide a list of nodes `l` in `n` chunks"""
    l_c = iter(l)
    while 1:
        x = tuple(itertools.islice(l_c, n))
        if not x:
            return
        yield x


def betweenness_centrality_parallel(G, processes=None):
    """Parallel betweenness centrality  function"""
    p = Pool(processes=processes)
    node_divisor = len(p._pool) * 4
    node_chunks = list(chunks(G.nodes(), G.order() // node_divisor))
    num_chunks = len(node_chunks)
    bt_sc = p.starmap(
        nx.betweenness_centrality_subset,
        zip(
            [G] * num_chunks,
            node_chunks,
            [list(G)] * num_chunks,
            [True] * num_chunks,
            [None] * num_chunks,
        ),
    )

    # Reduce the partial solutions
    bt_c = bt_sc[0]
    for bt in bt_sc[1:]:
        for n in bt:
            bt_c[n] += bt[n]
    return bt_c


G = nx.barabasi_albert_graph(300, 3)
print("Computing betweenness centrality for:")
print(G)
print("\tParallel version")
start = time.time()
bt = betweenness_centrality_parallel(G, processes=2)
print(f"\t\tTime: {(time.time() - start):.4F} seconds")
print(f"\t\tBetweenness centrality for node 0: {bt[0]:.5f}")
print("\tNon-Parallel version")
start = time.time()
bt = nx.betweenness_centrality(G)
print(f"\t\tTime: {(time.time() - start):.4F} seconds")
print(f"\t\tBetweenness centrality for node 0: {bt[0]:.5f}")
