"""Board simulator: STM32H7A3 firmware on a unicorn Cortex-M7 (see docs/simulator.md)."""
from .fault_report import FaultReport
from .machine import Machine, RunResult
from .mpu import MpuAttributes, MpuModel
from .peripheral import Peripheral, RegisterBlock
from .uart_io import UartEndpoint

__all__ = ["FaultReport", "Machine", "MpuAttributes", "MpuModel", "Peripheral", "RegisterBlock",
           "RunResult", "UartEndpoint"]
