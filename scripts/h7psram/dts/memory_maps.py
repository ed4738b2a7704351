"""Region table (for memcheck and people), as YAML.

Plain data derived from the Board; addresses are written in hex so
the file can be read next to a datasheet. yaml.safe_load reads them back
(YAML 1.1 resolves 0x... to integers).
"""

from __future__ import annotations

import json
from typing import Any

from h7psram.boards import Board, Region


def region_table(board: Board) -> dict[str, Any]:
    return {
        "board": board.name,
        "source": board.dts_path.name,
        "regions": [_region(r) for r in board.regions],
        "flash_partitions": [_region(board.storage)],
        "psram_window": _block(board.mmio_block("OCTOSPI1_MM")),
    }


def _region(region: Region) -> dict[str, Any]:
    return {"name": region.name, "kind": region.kind, "start": region.start,
            "size": region.size, "end": region.end}


def _block(block) -> dict[str, Any]:
    entry = {"name": block.name, "base": block.base, "size": block.size,
             "compatible": block.compatible}
    if block.irq is not None:
        entry["irq"] = block.irq
    return entry


_HEX_KEYS = {"start", "size", "end", "base"}


def to_yaml(data: dict[str, Any], comment: str) -> str:
    """Block-style mappings, one flow mapping per list item, hex addresses."""
    lines = [f"# {comment}"]
    for key, value in data.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {_flow(item)}" for item in value]
        elif isinstance(value, dict):
            lines.append(f"{key}: {_flow(value)}")
        else:
            lines.append(f"{key}: {_scalar(key, value)}")
    return "\n".join(lines) + "\n"


def _flow(item: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(k, v)}" for k, v in item.items()) + "}"


def _scalar(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"0x{value:08X}" if key in _HEX_KEYS else str(value)
    if value is None:
        return "null"
    return json.dumps(str(value))
