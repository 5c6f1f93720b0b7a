# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: PyMOTW 2.0.1 (Python Module of the Week, the Python 2 series), from its sdist on
#   PyPI (`pip download --no-binary :all: PyMOTW==2.0.1`, PyMOTW-2.0.1.tar.gz):
#   PyMOTW/multiprocessing/multiprocessing_mapreduce.py followed by
#   PyMOTW/multiprocessing/multiprocessing_wordcount.py, the "Implementing MapReduce" example
#   (https://pymotw.com/2/multiprocessing/mapreduce.html).
# Author: Doug Hellmann
# Licence: the package's LICENSE.txt (an HPND-style permission notice; PKG-INFO classifies
#   it "OSI Approved :: BSD License"), whose notice must appear in all copies:
#   Copyright 2007-2011 Doug Hellmann.
#
#                           All Rights Reserved
#
#   Permission to use, copy, modify, and distribute this software and its
#   documentation for any purpose and without fee is hereby granted,
#   provided that the above copyright notice appear in all copies and that
#   both that copyright notice and this permission notice appear in
#   supporting documentation, and that the name of Doug Hellmann not be
#   used in advertising or publicity pertaining to distribution of the
#   software without specific, written prior permission.
#
#   DOUG HELLMANN DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE,
#   INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS, IN NO
#   EVENT SHALL DOUG HELLMANN BE LIABLE FOR ANY SPECIAL, INDIRECT OR
#   CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF
#   USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR
#   OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR
#   PERFORMANCE OF THIS SOFTWARE.
# Changes: the two files made one (the wordcount script's `from multiprocessing_mapreduce
#   import SimpleMapReduce` removed, the module's text put above it); the Python 2 spellings
#   Python 3 rejects made Python 3: three `print` statements made `print(...)` calls and
#   `string.maketrans` made `str.maketrans`; the input, `glob.glob('*.rst')` in the current
#   directory (the article's own .rst files, not in the sdist), made the standard library's
#   multiprocessing sources, sorted (`import os` added for the path).
# A Pool made in the __init__ of a class of __main__ and never closed (the interpreter's
#   exit finalizes it), two pool.map calls (the map phase with chunksize=1, then the reduce
#   phase over a dict's items()), a print in every task.
# Under python the tasks' "ForkPoolWorker-N reading FILE" lines are lost in some runs (the
#   workers never flush, and the exit's terminate() kills them: 3 runs in 20 lost 1 or 2 of
#   the 21), and
#   which worker reads which file varies, so those lines are not compared.
# compat: mask (?m)^\S+ reading \S+(\n|$) =>

#!/usr/bin/env python
# encoding: utf-8
#
# Copyright (c) 2009 Doug Hellmann All rights reserved.
#
"""
"""
#end_pymotw_header
import collections
import itertools
import multiprocessing

class SimpleMapReduce(object):
    
    def __init__(self, map_func, reduce_func, num_workers=None):
        """
        map_func

          Function to map inputs to intermediate data. Takes as
          argument one input value and returns a tuple with the key
          and a value to be reduced.
        
        reduce_func

          Function to reduce partitioned version of intermediate data
          to final output. Takes as argument a key as produced by
          map_func and a sequence of the values associated with that
          key.
         
        num_workers

          The number of workers to create in the pool. Defaults to
          the number of CPUs available on the current host.
        """
        self.map_func = map_func
        self.reduce_func = reduce_func
        self.pool = multiprocessing.Pool(num_workers)
    
    def partition(self, mapped_values):
        """Organize the mapped values by their key.
        Returns an unsorted sequence of tuples with a key
        and a sequence of values.
        """
        partitioned_data = collections.defaultdict(list)
        for key, value in mapped_values:
            partitioned_data[key].append(value)
        return partitioned_data.items()
    
    def __call__(self, inputs, chunksize=1):
        """Process the inputs through the map and reduce functions
        given.
        
        inputs
          An iterable containing the input data to be processed.
        
        chunksize=1
          The portion of the input data to hand to each worker.  This
          can be used to tune performance during the mapping phase.
        """
        map_responses = self.pool.map(self.map_func,
                                      inputs,
                                      chunksize=chunksize)
        partitioned_data = self.partition(
            itertools.chain(*map_responses)
            )
        reduced_values = self.pool.map(self.reduce_func,
                                       partitioned_data)
        return reduced_values


#!/usr/bin/env python
# encoding: utf-8
#
# Copyright (c) 2009 Doug Hellmann All rights reserved.
#
"""
"""
#end_pymotw_header
import multiprocessing
import string


def file_to_words(filename):
    """Read a file and return a sequence of
    (word, occurences) values.
    """
    STOP_WORDS = set([
            'a', 'an', 'and', 'are', 'as', 'be', 'by', 'for', 'if',
            'in', 'is', 'it', 'of', 'or', 'py', 'rst', 'that', 'the',
            'to', 'with',
            ])
    TR = str.maketrans(string.punctuation,
                          ' ' * len(string.punctuation))

    print(multiprocessing.current_process().name, 'reading', filename)
    output = []

    with open(filename, 'rt') as f:
        for line in f:
            if line.lstrip().startswith('..'): # Skip comment lines
                continue
            line = line.translate(TR) # Strip punctuation
            for word in line.split():
                word = word.lower()
                if word.isalpha() and word not in STOP_WORDS:
                    output.append( (word, 1) )
    return output


def count_words(item):
    """Convert the partitioned data for a word to a
    tuple containing the word and the number of occurences.
    """
    word, occurences = item
    return (word, sum(occurences))


if __name__ == '__main__':
    import operator
    import glob
    import os

    input_files = sorted(glob.glob(os.path.join(os.path.dirname(multiprocessing.__file__), '*.py')))
    
    mapper = SimpleMapReduce(file_to_words, count_words)
    word_counts = mapper(input_files)
    word_counts.sort(key=operator.itemgetter(1))
    word_counts.reverse()
    
    print('\nTOP 20 WORDS BY FREQUENCY\n')
    top20 = word_counts[:20]
    longest = max(len(word) for word, count in top20)
    for word, count in top20:
        print('%-*s: %5s' % (longest+1, word, count))

