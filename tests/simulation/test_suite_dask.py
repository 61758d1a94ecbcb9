"""The Dask backend of run_suite: chunks as tasks on a distributed cluster, byte-identical
to the local runner, resuming after a worker dies.

Tiny suites as test_simulation.py's resumability test (300 stars, leapfrog, chunks of 2,
seed 11; shared compiled program). The default-suite test uses in-process (thread) workers
and closes one abruptly while it runs a chunk; the slow test SIGKILLs a worker process.
"""

import os
import signal

import pytest

from jaxgal import simulation as S

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (the optional extra: pip install 'jaxgal[dask]')"
)

# the small leapfrog simulations of test_simulation.py share one compiled program (one worker
# under pytest --dist loadgroup)
pytestmark = pytest.mark.xdist_group("simulate_small")
N_SMALL = 300
CFG = S.SimulationConfig(tracer_method="leapfrog", tracer_dt=2.0)
KW = dict(seed=11, n_particles=N_SMALL, chunk_size=2, config=CFG, progress=False)
N_SIMS = 5  # three chunks


def _same_files(a, b):
    fa = sorted(f for f in os.listdir(a) if f.startswith(("chunk_", "particles_")))
    fb = sorted(f for f in os.listdir(b) if f.startswith(("chunk_", "particles_")))
    assert fa == fb and len(fa) == 6, (fa, fb)
    for f in fa:
        assert open(os.path.join(a, f), "rb").read() == open(os.path.join(b, f), "rb").read(), f


def _kill_one_busy_worker(client, futures, kill):
    """Wait for the first chunk to finish, then kill a worker that is running another."""
    first = next(iter(distributed.as_completed(futures)))
    first.result()
    processing = client.processing()
    busy = [w for w, tasks in processing.items() if tasks]
    assert busy, "no worker was busy after the first chunk: nothing to kill"
    kill(busy[0])
    return busy[0]


def test_dask_suite_equals_local_after_a_worker_dies(tmp_path):
    """Three chunks on two thread workers; one worker is closed (without waiting for its
    running task) once the first chunk is done. The scheduler re-runs its chunk elsewhere;
    the finished suite equals the local runner's byte for byte, and run_suite(client=...)
    over the complete folder writes nothing."""
    from distributed import Client, LocalCluster

    local, remote = str(tmp_path / "local"), str(tmp_path / "dask")
    S.run_suite(local, N_SIMS, keep_particles=True, **KW)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        from jaxgal.simulation._dask import _chunk_task
        from jaxgal.simulation._suite import _check_args, _check_settings, _settings_of

        args = _check_args(N_SIMS, 11, N_SMALL, 2, CFG, None, None)
        _check_settings(remote, _settings_of(*args))
        futures = [client.submit(_chunk_task, remote, c, args, True, pure=False, key=f"t-{c}") for c in range(3)]

        def kill(addr):
            w = next(w for w in cluster.workers.values() if w.address == addr)
            cluster.sync(w.close, executor_wait=False)

        _kill_one_busy_worker(client, futures, kill)
        distributed.wait(futures, timeout=600)
        assert all(f.status == "finished" for f in futures)
        assert len(client.scheduler_info()["workers"]) == 1
        # the driver: nothing left to do, the manifest is written
        assert S.run_suite(remote, N_SIMS, keep_particles=True, client=client, **KW) == []
    _same_files(local, remote)
    assert S.read_manifest(remote)["summary"]["sims_done"] == N_SIMS


@pytest.mark.slow
def test_dask_process_workers_survive_sigkill(tmp_path):
    """The same with worker processes (each imports jaxgal and compiles on its own), one of
    them SIGKILLed mid-suite (its nanny restarts it), driven by run_suite(client=...). The
    workers get as many CPU devices as this process: the numbers of a chunk depend on how
    its batch is split over devices (rounding differences that chaotic orbits amplify), so
    byte identity holds for equal device counts."""
    import threading

    import jax
    from distributed import Client, LocalCluster

    local, remote = str(tmp_path / "local"), str(tmp_path / "dask")
    S.run_suite(local, N_SIMS, keep_particles=True, **KW)
    env = {"XLA_FLAGS": f"--xla_force_host_platform_device_count={len(jax.devices())}",
           "PYTHONPATH": os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(os.path.dirname(S.__file__))),
                                                     os.environ.get("PYTHONPATH", "")] if p)}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=env) as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def killer():  # kill a busy worker once the first chunk file appears
            import time

            while not os.path.exists(os.path.join(remote, "chunk_00000.npz")) and \
                    not os.path.exists(os.path.join(remote, "chunk_00001.npz")):
                time.sleep(0.2)
            for w, keys in client.processing().items():  # a worker running a chunk not yet written
                chunks = [int(str(k).split("-")[3]) for k in keys if str(k).startswith("jaxgal-suite-")]
                if any(not os.path.exists(os.path.join(remote, f"chunk_{c:05d}.npz")) for c in chunks):
                    os.kill(pids[w], signal.SIGKILL)
                    killed.append(w)
                    break

        th = threading.Thread(target=killer, daemon=True)
        th.start()
        written = S.run_suite(remote, N_SIMS, keep_particles=True, client=client, **KW)
        th.join(timeout=60)
    assert killed, "no worker was killed"
    assert len(written) >= 2  # a killed task may have written its chunk just before dying
    _same_files(local, remote)
