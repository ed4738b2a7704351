/*
 * OCTOSPI1 + 64 Mbit QSPI PSRAM bring-up, register level, no HAL.
 *
 * psram_init() leaves the chip in QPI mode and the controller in memory-mapped
 * mode at PSRAM_BASE, with the MPU guarding the rest of the OCTOSPI1 window.
 * Every step is bounded; on failure the controller is aborted and disabled and
 * the window stays no-access, so a caller that ignores the status faults at
 * once instead of reading garbage.
 */
#ifndef PSRAM_H
#define PSRAM_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PSRAM_OK = 0,
    PSRAM_ERR_CONFIG,         /* board facts give an impossible clock/refresh/CSHT/size */
    PSRAM_ERR_CLOCK,          /* CLK above the part's limit (e.g. a bad override) */
    PSRAM_ERR_IOM,            /* OCTOSPIM port 1 did not take the OCTOSPI1 routing */
    PSRAM_ERR_TIMEOUT_BUSY,   /* SR.BUSY never cleared */
    PSRAM_ERR_TIMEOUT_FIFO,   /* read data never arrived in the FIFO */
    PSRAM_ERR_TIMEOUT_TCF,    /* SR.TCF never set after a command */
    PSRAM_ERR_TIMEOUT_ABORT,  /* CR.ABORT never self-cleared */
    PSRAM_ERR_TRANSFER,       /* SR.TEF set */
    PSRAM_ERR_NOT_FOUND,      /* read ID returned all 0x00 or all 0xFF */
    PSRAM_ERR_WRONG_MFID,     /* manufacturer ID differs from the board's part */
    PSRAM_ERR_BAD_KGD,        /* known-good-die byte is not the pass value */
} psram_status_t;

/* What the bring-up chose and read; filled as far as init got. */
typedef struct {
    uint8_t id[8];          /* MFID, KGD, EID[47:0] from 0x9F */
    uint32_t kernel_hz;     /* OCTOSPI kernel clock */
    uint32_t id_clk_hz;     /* CLK used for reset and read ID */
    uint32_t clk_hz;        /* CLK in memory-mapped mode */
    uint32_t prescaler;     /* DCR2.PRESCALER in memory-mapped mode */
    uint32_t refresh;       /* DCR4.REFRESH in memory-mapped mode */
    uint32_t csht;          /* DCR1.CSHT in memory-mapped mode */
    uint32_t csbound;       /* DCR3.CSBOUND */
    uint32_t devsize;       /* DCR1.DEVSIZE */
} psram_info_t;

/* MPU regions used: the guard must have the lower number so the window wins. */
#ifndef PSRAM_MPU_REGION_GUARD
#define PSRAM_MPU_REGION_GUARD 1u
#endif
#ifndef PSRAM_MPU_REGION_WINDOW
#define PSRAM_MPU_REGION_WINDOW 2u
#endif

psram_status_t psram_init(psram_info_t *info);

/* Leave memory-mapped mode: close the MPU window, abort, put the chip back
 * into SPI mode, disable the controller.  Safe to call after a failed init. */
psram_status_t psram_deinit(void);

/* Short lower-case name of a status, for messages. */
const char *psram_status_name(psram_status_t status);

/* Write back and drop every D-cache line (no-op with the D-cache off), so the
 * next reads of the window come from the chip. */
void psram_dcache_sync(void);

/* The same for the lines holding [addr, addr + len) only: clean+invalidate by
 * address, or the whole cache by set/way when the range is larger than the
 * cache (fewer operations).  Used between memtest phases. */
void psram_dcache_sync_range(volatile void *addr, size_t len);

#endif /* PSRAM_H */
