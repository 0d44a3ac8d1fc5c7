"""The hand-over of sync `on_report` calls to worker threads (`webhooks._handover`): calls
awaited on a loop start one worker per turn of that loop, and none is lost when that turn
never comes (a loop closed first) or when one receiver is awaited from several loops."""

from __future__ import annotations

import asyncio
import threading

from sms_status.webhooks._handover import ThreadHandOver


def recorder() -> tuple[list[str], ThreadHandOver]:
    calls: list[str] = []
    lock = threading.Lock()

    def call(item: object) -> str:
        with lock:
            calls.append(str(item))
        return f"done {item}"

    return calls, ThreadHandOver(call)


def test_calls_awaited_in_one_turn_are_all_answered_in_order_of_their_own() -> None:
    calls, hand_over = recorder()

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(hand_over(loop, n) for n in range(100)))

    assert asyncio.run(main()) == [f"done {n}" for n in range(100)]
    assert sorted(calls) == sorted(str(n) for n in range(100))


def test_a_call_on_a_loop_closed_before_its_turn_still_runs_and_holds_up_no_other() -> None:
    calls, hand_over = recorder()
    stranded = asyncio.new_event_loop()
    abandoned = hand_over(stranded, "stranded")  # its worker was due on the next turn
    stranded.close()  # which never comes

    async def later() -> object:
        return await hand_over(asyncio.get_running_loop(), "later")

    assert asyncio.run(asyncio.wait_for(later(), 10)) == "done later"  # not held up
    assert hand_over.wait_idle(10)
    assert sorted(calls) == ["later", "stranded"]  # the stranded call ran too
    assert not abandoned.done()  # its loop is gone: nobody to answer


def test_drain_runs_a_call_whose_loop_closed_before_its_turn() -> None:
    calls, hand_over = recorder()
    stranded = asyncio.new_event_loop()
    hand_over(stranded, "stranded")
    stranded.close()
    assert hand_over.wait_idle(10)
    assert calls == ["stranded"]


def test_calls_awaited_from_several_loops_at_once_are_each_answered_on_their_own() -> None:
    calls, hand_over = recorder()
    answers: dict[int, list[object]] = {}

    def serve(loop_number: int) -> None:
        async def main() -> list[object]:
            loop = asyncio.get_running_loop()
            items = [f"{loop_number}-{n}" for n in range(50)]
            return await asyncio.wait_for(
                asyncio.gather(*(hand_over(loop, item) for item in items)), 30
            )

        answers[loop_number] = asyncio.run(main())

    threads = [threading.Thread(target=serve, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert {n: len(a) for n, a in answers.items()} == {n: 50 for n in range(8)}
    for n, answered in answers.items():
        assert answered == [f"done {n}-{k}" for k in range(50)]
    assert len(calls) == 400
