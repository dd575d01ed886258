/**
 * The installation fields of the controlvm channel that visorchipset's platform device shows
 * in sysfs (install/error, textid, remainingsteps, toolaction, boottotool): little-endian
 * integers read and written through the guest's view of the channel, as the kernel's
 * show/store functions do with visorchannel_read/visorchannel_write.
 */
import type { VisorChannel } from '../visorchannel/visorchannel';

export function readInstallField(controlvm: VisorChannel, offset: number, size: number): number {
  const b = new Uint8Array(size);
  if (controlvm.read(offset, b) < 0) throw new Error('Input/output error (EIO)');
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
  return v;
}

export function writeInstallField(controlvm: VisorChannel, offset: number, size: number, value: number): void {
  const b = new Uint8Array(size);
  let v = value;
  for (let i = 0; i < size; i++) {
    b[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  if (controlvm.write(offset, b) < 0) throw new Error('Input/output error (EIO)');
}
