"""One-call summary of where the GC heap lives, for the REPL and the tests.

>>> import heapinfo; heapinfo.show()
"""

import gc

import psram


def summary():
    """A dict: the psram module's view plus the GC's free and allocated bytes."""
    gc.collect()
    info = psram.info()
    info["mem_free"] = gc.mem_free()
    info["mem_alloc"] = gc.mem_alloc()
    return info


def show():
    s = summary()
    print(
        "psram {} {}: {} bytes at 0x{:08x}, {} Hz, mapped={} heap={}".format(
            s["part"], s["id"].hex(" ") if hasattr(s["id"], "hex") else s["id"],
            s["size"], s["base"], s["clock"], s["mapped"], s["heap"]
        )
    )
    print("status: {}; memtest: {}".format(s["status"], s["memtest"] or "not run"))
    print("gc: {} free, {} allocated".format(s["mem_free"], s["mem_alloc"]))
