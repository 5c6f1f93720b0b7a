# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: GitHub yidao620c/python3-cookbook (the Chinese translation of the Python Cookbook,
#   3rd edition, with its examples as scripts), cookbook/c07/p08_partial.py (last changed in
#   commit 250375c26a66fc734123b5c2647049f0ad68f916; snapshot
#   8c0b2ab251e0ac65b46e87dd511df41018f433bf),
#   https://github.com/yidao620c/python3-cookbook/blob/8c0b2ab251e0ac65b46e87dd511df41018f433bf/cookbook/c07/p08_partial.py;
#   the code of recipe 7.8 ("Making an N-Argument Callable Work As a Callable with Fewer
#   Arguments") of David Beazley and Brian K. Jones's book.
#   logging.basicConfig(level=DEBUG) in the __main__ block, then `p = Pool()` and
#   apply_async(add, (3, 4), callback=partial(output_result, log=log)): the callback, a
#   functools.partial with a Logger keyword, logs from the pool's result-handler thread.
# Author: Xiong Neng (the repository's owner and translator; the recipe's code after
#   David Beazley and Brian K. Jones).
# Licence: Apache License 2.0 (the repository's README: "(The Apache License) Copyright (c)
#   2014-2018 Xiong Neng and other contributors. Licensed under the Apache License, Version
#   2.0"; the repository has no LICENSE file).
# Changes: the last two lines of the __main__ block removed (`serv = TCPServer(('', 15000),
#   partial(EchoHandler, ack=b'RECEIVED:'))` and `serv.serve_forever()`: a TCP server on port
#   15000 that never returns); everything else as it is, the comment before them included.

#!/usr/bin/env python
# -*- encoding: utf-8 -*-
"""
Topic: 使用partial函数来减少参数个数
Desc : 
"""
import logging
from multiprocessing import Pool
from functools import partial
from socketserver import StreamRequestHandler, TCPServer


def spam(a, b, c, d):
    print(a, b, c, d)


def output_result(result, log=None):
    if log is not None:
        log.debug('Got: %r', result)


# A sample function
def add(x, y):
    return x + y


class EchoHandler(StreamRequestHandler):
    # ack is added keyword-only argument. *args, **kwargs are
    # any normal parameters supplied (which are passed on)
    def __init__(self, *args, ack, **kwargs):
        self.ack = ack
        super().__init__(*args, **kwargs)

    def handle(self):
        for line in self.rfile:
            self.wfile.write(self.ack + line)

if __name__ == '__main__':
    s1 = partial(spam, 1) # a = 1
    s1(2, 3, 4)
    s1(4, 5, 6)
    s2 = partial(spam, d=42) # d = 42
    s2(1, 2, 3)
    s2(4, 5, 5)
    s3 = partial(spam, 1, 2, d=42) # a = 1, b = 2, d = 42
    s3(3)
    s3(4)

    logging.basicConfig(level=logging.DEBUG)
    log = logging.getLogger('test')

    p = Pool()
    p.apply_async(add, (3, 4), callback=partial(output_result, log=log))
    p.close()
    p.join()

    # socket服务器

