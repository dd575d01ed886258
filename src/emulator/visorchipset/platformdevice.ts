/**
 * The device visorchipset's attributes and uevents hang on. The seed documentation's
 * ABI puts it at /sys/devices/platform/visorchipset (a platform device); the later
 * kernel uses the ACPI PNP0A07 device instead (docs/kernel-differences.md).
 */
export const CHIPSET_DEVPATH = '/devices/platform/visorchipset';
export const CHIPSET_SUBSYSTEM = 'platform';
