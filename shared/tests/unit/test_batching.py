"""shared.batching.Batcher: everything handed over is passed on once, in order, whatever the
threads and timing; a busy batcher is not woken for each item, a waiting one always is."""
import threading
import time

from shared.batching import Batcher


def test_every_item_from_many_threads_is_passed_on_once_in_order_and_flush_sees_the_end():
    passed: list[tuple[int, int]] = []
    batches: list[int] = []

    def send(batch):
        time.sleep(0.002)  # a round trip: items handed over meanwhile wait for the next batch
        batches.append(len(batch))
        passed.extend(batch)

    batcher = Batcher("test", send, max_items=50, linger=0.001)
    threads, per_thread = 8, 300

    def hand_over(t):
        for i in range(per_thread):
            assert batcher.submit([(t, i)])
            if i % 37 == 0:
                time.sleep(0.003)  # now and then the batcher runs dry and waits for work

    workers = [threading.Thread(target=hand_over, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert batcher.flush(timeout=10)
    assert len(passed) == threads * per_thread and len(set(passed)) == len(passed)
    for t in range(threads):  # each thread's items in the order it handed them over
        assert [i for (u, i) in passed if u == t] == list(range(per_thread))
    assert max(batches) <= 50 and len(batches) < len(passed)  # batched, never above max_items

    # idle now: an item handed over alone goes at once (the waiting thread is woken)
    batcher.submit([("late", 0)])
    assert batcher.flush(timeout=5) and passed[-1] == ("late", 0)
