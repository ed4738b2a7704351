// The `psram` module: what the boot found, a memtest, and raw access to the
// PSRAM window.
//
//   psram.info()              -> dict: part, id (bytes), size, clock, mapped,
//                                heap (PSRAM in the GC heap), status, memtest
//   psram.memtest(quick=True) -> True on pass, False on failure (details in
//                                info()["memtest"]); refused while the PSRAM
//                                holds the GC heap, since the test overwrites it
//   psram.bandwidth()         -> dict: read, write (bytes/s the CPU measured over
//                                span bytes), limit (bytes/s 4 lines carry at
//                                clock: clock / 2), clock (OCTOSPI Hz), span
//   psram.read(addr, buf)     -> reads len(buf) bytes at addr into buf
//   psram.write(addr, buf)    -> writes buf at addr
// addr is an absolute address in the window (0x90000000...) or an offset
// from its start; the whole access must lie inside the part.

#include <string.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "psram_bandwidth.h"
#include "psram_board.h"
#include "h7psram_boot.h"

static const mp_print_t *vstr_printer(vstr_t *vstr, mp_print_t *print) {
    print->data = vstr;
    print->print_strn = (mp_print_strn_t)vstr_add_strn;
    return print;
}

// The status line as printed at boot, without its newline.
static mp_obj_t status_line(bool memtest) {
    vstr_t vstr;
    mp_print_t print;
    vstr_init(&vstr, 64);
    if (memtest) {
        if (h7psram_state.memtest_ran) {
            h7psram_print_memtest(vstr_printer(&vstr, &print), &h7psram_state.memtest);
        }
    } else if (h7psram_state.status == PSRAM_OK) {
        vstr_add_str(&vstr, "ok\n");
    } else {
        h7psram_print_failure(vstr_printer(&vstr, &print));
    }
    if (vstr.len && vstr.buf[vstr.len - 1] == '\n') {
        vstr.len--;
    }
    return mp_obj_new_str_from_vstr(&vstr);
}

static mp_obj_t psram_info(void) {
    mp_obj_t d = mp_obj_new_dict(9);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_part), mp_obj_new_str_from_cstr(PSRAM_PART_NAME));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_id),
        mp_obj_new_bytes(h7psram_state.info.id, sizeof(h7psram_state.info.id)));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_size), mp_obj_new_int_from_uint(PSRAM_SIZE));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_base), mp_obj_new_int_from_uint(PSRAM_BASE));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_clock), mp_obj_new_int_from_uint(h7psram_state.info.clk_hz));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_mapped), mp_obj_new_bool(h7psram_state.mapped));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_heap), mp_obj_new_bool(h7psram_state.in_heap));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_status), status_line(false));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_memtest), status_line(true));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(psram_info_obj, psram_info);

static mp_obj_t psram_memtest(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_quick };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_quick, MP_ARG_BOOL, {.u_bool = true} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed), allowed, args);
    if (!h7psram_state.mapped) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("PSRAM not mapped"));
    }
    if (h7psram_state.in_heap) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("PSRAM holds the GC heap; memtest would overwrite it"));
    }
    psram_memtest_result_t r;
    return mp_obj_new_bool(h7psram_run_memtest(args[ARG_quick].u_bool, &r) == PSRAM_MEMTEST_NONE);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(psram_memtest_obj, 0, psram_memtest);

// The last PSRAM_BANDWIDTH_SPAN bytes of the part: the GC hands out its heap
// from the low end first, so this is the span least likely to hold objects.
// It may hold some, and that is safe: the driver writes every word back with
// the value it held, with interrupts masked in between (psram_bandwidth.h).
static mp_obj_t psram_bandwidth(void) {
    if (!h7psram_state.mapped) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("PSRAM not mapped"));
    }
    psram_bandwidth_t bw;
    // SystemCoreClock: the core clock CYCCNT counts, as the HAL set it
    if (!psram_bandwidth_measure((volatile void *)(PSRAM_BASE + PSRAM_SIZE - PSRAM_BANDWIDTH_SPAN),
                                 PSRAM_BANDWIDTH_SPAN, SystemCoreClock, h7psram_state.info.clk_hz, &bw)) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad bandwidth span"));
    }
    mp_obj_t d = mp_obj_new_dict(5);
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_read), mp_obj_new_int_from_uint(bw.read_bps));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_write), mp_obj_new_int_from_uint(bw.write_bps));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_limit), mp_obj_new_int_from_uint(bw.limit_bps));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_clock), mp_obj_new_int_from_uint(bw.clk_hz));
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_span), mp_obj_new_int_from_uint(bw.span));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(psram_bandwidth_obj, psram_bandwidth);

// Absolute address of [addr, addr + len) inside the part, or ValueError.
static uintptr_t window_address(mp_obj_t addr_in, size_t len) {
    if (!h7psram_state.mapped) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("PSRAM not mapped"));
    }
    uintptr_t addr = (uintptr_t)mp_obj_get_int_truncated(addr_in);
    if (addr < PSRAM_SIZE) {
        addr += PSRAM_BASE;
    }
    if (addr < PSRAM_BASE || addr > PSRAM_BASE + PSRAM_SIZE || len > PSRAM_BASE + PSRAM_SIZE - addr) {
        mp_raise_ValueError(MP_ERROR_TEXT("outside the PSRAM"));
    }
    return addr;
}

static mp_obj_t psram_read(mp_obj_t addr_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    memcpy(buf.buf, (const void *)window_address(addr_in, buf.len), buf.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(psram_read_obj, psram_read);

static mp_obj_t psram_write(mp_obj_t addr_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_READ);
    memcpy((void *)window_address(addr_in, buf.len), buf.buf, buf.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(psram_write_obj, psram_write);

static const mp_rom_map_elem_t psram_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_psram) },
    { MP_ROM_QSTR(MP_QSTR_info), MP_ROM_PTR(&psram_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_memtest), MP_ROM_PTR(&psram_memtest_obj) },
    { MP_ROM_QSTR(MP_QSTR_bandwidth), MP_ROM_PTR(&psram_bandwidth_obj) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&psram_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&psram_write_obj) },
};
static MP_DEFINE_CONST_DICT(psram_module_globals, psram_module_globals_table);

const mp_obj_module_t psram_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&psram_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_psram, psram_module);
