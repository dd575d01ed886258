/**
 * The emulator's own bounds. Everything a scenario, a DAP request or guest memory can
 * set — a count, a size, a wait, a rate — stays under one of these, so that the
 * emulator's memory and time are bounded whatever the input. Going past one is a
 * located error (a scenario line, a request) or, where the kernel itself would go on,
 * a kernel-like outcome that says where it stopped (a SCSI scan).
 */

/** Highest HZ `--hz` accepts (the kernel's are 100, 250, 300 and 1000). */
export const MAX_HZ = 10000;

/** Longest virtual time one `wait` line may take, in seconds (10 minutes). */
export const MAX_WAIT_SECONDS = 600;

/** Most wheel steps one `mouse B:D wheel N` line may send. */
export const MAX_WHEEL_STEPS = 10000;

/** Input reports a console device may hold for a guest that does not read them; more are dropped. */
export const MAX_INPUT_BACKLOG = 65536;

/** Most sectors one `disk B:D read` line may read (16 MiB). */
export const MAX_DISK_READ_SECTORS = 32768;

/** Largest disk image `disk attach size=` may create or extend to (2 TiB). */
export const MAX_IMAGE_BYTES = 2 ** 41;

/** Guest-physical addresses are at most 52 bits wide (x86-64); a channel must end below this. */
export const GUEST_PHYS_LIMIT = 2 ** 52;

/** SCSI targets a host scan visits at most (vhba.max.max_id may say up to 2^32). */
export const MAX_SCAN_TARGETS = 256;

/** LUNs per target a scan visits at most: the kernel's max_scsi_luns default (512). */
export const MAX_SCAN_LUNS = 512;

/** Bytes of debugger memory writes the step-back journal keeps for one session. */
export const MAX_JOURNAL_WRITE_BYTES = 64 * 1024 * 1024;

/** Largest DAP message the adapter reads; a larger one is skipped and reported. */
export const MAX_DAP_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Largest DAP header block (the lines before the body). */
export const MAX_DAP_HEADER_BYTES = 8192;

/** Largest file the DAP `source` request serves. */
export const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

/** Deepest nesting of a Debug Console / condition expression. */
export const MAX_EXPRESSION_DEPTH = 200;

/** Wall time a user driver's callback (or its module's top level) may take before `run`/`test` stop it. */
export const DEFAULT_DRIVER_TIMEOUT_MS = 5000;
