# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: lambda_multiprocessing 1.1, README.md lines 16-21, the `multiprocessing.Pool`
#   program that the README says fails in AWS Lambda (https://github.com/mdavis-xyz/
#   lambda_multiprocessing); obtained with
#   `pip download --no-binary :all: lambda-multiprocessing==1.1`.
# Author: Matthew Davis.
# Licence: MIT (lambda_multiprocessing's LICENSE.txt).
# Changes: the Markdown code fence removed.
# No __main__ guard, a context-managed Pool, nothing printed: exit status and silence.

from multiprocessing import Pool
def func(x):
    return x*x
args = [1,2,3]
with Pool() as p:
    result = p.map(func, args)
