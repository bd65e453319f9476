"""wirewatch: the Faust worker, its pipeline stages and its tools.

One BLAS thread per process. wirewatch scales out with processes (each worker
runs spaCy in its own NLP process, and more workers run beside it), and
spaCy's matrix products are small: OpenBLAS's threads never get work from it,
but its threaded build still costs every call. On the benchmark's texts
``nlp.pipe`` ran 11% faster with ``OPENBLAS_NUM_THREADS=1`` than with the
default (one thread per core), in one process alone (README, Performance).
It is set here, before any module of the package loads numpy; a value already
in the environment is kept, and the NLP process inherits it.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
