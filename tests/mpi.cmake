# MPI tests (issue 5): unit tests of mpi/ and the FEBRL evaluation.
