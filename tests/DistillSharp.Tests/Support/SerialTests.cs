// The tests run one at a time. TorchSharp hands libtorch a scalar's raw handle (x + 1.0 makes two temporary scalars)
// and nothing keeps the scalar object alive during the call, so a garbage collection that another thread starts
// while the call begins can run the scalar's finalizer under it: libtorch then reads freed memory and fails with
// "Expected false to be true" from c10::Scalar::toDouble. Two tests in parallel are two such threads (the trainer
// collects after every step); one CI run of the 988 tests failed so. A two-thread reproduction (one thread adding
// 1.0 to a tensor, the other collecting generation 0 in a loop) failed within 20 s in one of three runs.
// One at a time the whole suite took 734 s against 703 s in parallel (AMD EPYC, 2 cores, 2026-12-02): libtorch's
// own threads already use both cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
