"""The simulated core running real Cortex-M7 images: UART, SysTick + WFI, SVC/PendSV, nesting, FPU."""
from __future__ import annotations

import re


def test_uart_hello_and_echo(firmware, machine_for):
    m = machine_for(firmware("hello"))
    r = m.run(until_text="usart1\r\n", max_seconds=1)
    assert r.reason == "text"
    assert m.uart.read_available() == b"hello from usart1\r\n"
    m.uart.write(b"abc!")
    r = m.run(until_text="bye", max_seconds=1)
    assert r.reason == "text", m.uart.output()
    assert m.uart.read_available().startswith(b"ABC!\r\nbye")


def test_systick_counts_and_wfi_skips_time(firmware, machine_for):
    m = machine_for(firmware("systick"))
    r = m.run(until_text="systick done", max_seconds=1)
    assert r.reason == "text"
    elapsed_s = m.now_ns / 1e9
    m.run(until_text="\n", max_seconds=0.1)
    out = m.uart.output().decode()
    assert "tick 10\r\ntick 20\r\n" in out
    found = re.search(r"ticks=(\d+) wakeups=(\d+) cvr=([0-9a-f]+)", out)
    assert found, out
    ticks, wakeups, cvr = int(found[1]), int(found[2]), int(found[3], 16)
    assert ticks == 50
    assert 50 <= wakeups <= 60             # one wake-up per tick, not a busy loop
    assert 0 < cvr < 280000                # the counter counts down from RVR
    # 50 ticks of 1 ms: simulated time moved ~50 ms although WFI ran few instructions.
    assert 0.049 < elapsed_s < 0.06
    assert m.scs.systick.csr & 1 == 0


def test_wfi_with_interrupts_masked_then_unmask_runs_the_handler(firmware, machine_for):
    # A pending interrupt masked by PRIMASK is taken right after the instruction that
    # unmasks, however the emulation slices fall: each tick wakes the loop once.
    m = machine_for(firmware("masked_wfi"))
    r = m.run(until_text="\r\n", max_seconds=0.03)
    assert r.reason == "text", m.uart.output()
    found = re.search(r"ticks=(\d+) msr loops=(\d+) cpsie loops=(\d+)", m.uart.output().decode())
    assert found, m.uart.output()
    ticks, msr_loops, cpsie_loops = (int(g) for g in found.groups())
    assert ticks == 20
    assert 9 <= msr_loops <= 11 and 9 <= cpsie_loops <= 11
    assert 0.019 < m.now_ns / 1e9 < 0.025


def test_svc_and_pendsv_tail_chain_and_immediate_pend(firmware, machine_for):
    m = machine_for(firmware("svc"))
    r = m.run(until_text="\r\n", max_seconds=1)
    assert r.reason == "text"
    # SVC #5 ran, PendSV (pended in the SVC handler) followed before main resumed,
    # then PendSVSET, STIR and ISPR from thread mode were taken before the next instruction.
    assert m.uart.output().decode().strip() == "svc 5 order SPMPII pendsv 2 irq 1,2"


def test_nested_priorities_and_masking(firmware, machine_for):
    m = machine_for(firmware("nested"))
    r = m.run(until_text="\r\n", max_seconds=1)
    assert r.reason == "text"
    assert m.uart.output().decode().strip() == "nest aHb|xyaHb|mHnaHb|pH|"


def test_fp_registers_survive_interrupts(firmware, machine_for):
    m = machine_for(firmware("fpu"))
    r = m.run(until_text="\r\n", max_seconds=2)
    assert r.reason == "text"
    out = m.uart.output().decode()
    assert out.startswith("fpu ok"), out
    ticks = int(re.search(r"ticks (\d+)", out)[1])
    assert ticks > 50                      # the handler really interrupted the FP loop
    # H(20000) = 10.480728..., as an IEEE double 0x4024f61...
    assert re.search(r"value 4024f6", out), out


def test_thread_mode_on_process_stack(firmware, machine_for):
    m = machine_for(firmware("psp"))
    r = m.run(until_text="\r\n", max_seconds=1)
    assert r.reason == "text"
    out = m.uart.output().decode().strip()
    # EXC_RETURN 0xFFFFFFED: back to thread mode, process stack, FP frame (FP used in thread)
    assert out == "psp ok exc_return=ffffffed control=00000006 ticks>10=1 msp_top=1", out


def test_uart_receive_interrupts_paced_like_a_line(firmware, machine_for):
    m = machine_for(firmware("uart_irq"))
    assert m.run(until_text="ready\r\n", max_seconds=1).reason == "text"
    m.uart.read_available()
    t0 = m.now_ns
    m.uart.write(b"hello world\r")
    assert m.run(until_text="irqs=", max_seconds=1).reason == "text"
    elapsed_ns = m.now_ns - t0
    assert m.run(max_seconds=0.01).reason == "idle"          # WFI with nothing that can wake it
    out = m.uart.read_available().decode()
    assert out.startswith("dlrow olleh irqs=12"), out     # one interrupt per character
    # 12 characters at 115200 baud take about 1 ms of simulated time
    assert 1_000_000 <= elapsed_ns < 3_000_000
    m.uart.write(b"quit\r")
    assert m.run(until_text="tiuq", max_seconds=1).reason == "text"


def test_interrupts_inside_it_blocks(firmware, machine_for):
    m = machine_for(firmware("itblock"))
    r = m.run(until_text="\r\n", max_seconds=2)
    assert r.reason == "text"
    assert m.uart.output().decode().strip() == "it ok ticks>500=1"


def test_busy_wait_on_systick_has_microsecond_resolution(firmware, machine_for):
    m = machine_for(firmware("delay_us"))
    assert m.run(until_text="start\r\n", max_seconds=1).reason == "text"
    t0 = m.now_ns
    assert m.run(until_text="done\r\n", max_seconds=1).reason == "text"
    elapsed_us = (m.now_ns - t0) / 1000
    # 100 waits of 20 us: the counter is re-read every few microseconds of simulated time
    assert 2000 <= elapsed_us < 3000, elapsed_us
