/**
 * GUIDs as the kernel stores them (`guid_t`): field1 LE32, field2 LE16, field3 LE16,
 * then 8 bytes in written order. Text forms: canonical lower (%pUl), upper (%pUL),
 * and raw byte order (%pUb, used by the bus `partition_guid` attribute).
 */

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isGuidText(text: string): boolean {
  return GUID_RE.test(text);
}

/** Canonical text -> the 16 stored bytes. Throws on malformed text. */
export function guidToBytes(text: string): Uint8Array {
  if (!GUID_RE.test(text)) throw new Error(`malformed GUID '${text}' (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
  const hex = text.replace(/-/g, '');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.substr(i * 2, 2), 16);
  // swap field1 (4 bytes), field2 (2), field3 (2) to little-endian
  return new Uint8Array([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)]);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Stored bytes -> canonical lower-case text (%pUl). */
export function bytesToGuid(bytes: Uint8Array, offset = 0): string {
  const b = (i: number) => hex2(bytes[offset + i]);
  return b(3) + b(2) + b(1) + b(0) + '-' + b(5) + b(4) + '-' + b(7) + b(6) + '-' + b(8) + b(9) + '-' + b(10) + b(11) + b(12) + b(13) + b(14) + b(15);
}

/** Stored bytes in storage order, 8-4-4-4-12 grouping (%pUb). */
export function bytesToGuidRaw(bytes: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += hex2(bytes[offset + i]);
  }
  return s;
}

export const NULL_GUID = '00000000-0000-0000-0000-000000000000';

/** Channel type GUIDs (protocol reference §6). */
export const GUIDS = {
  controlvm: '2b3c2d10-7ef5-4ad8-b966-3448b7386b3d',
  vbus: '193b331b-c58f-11da-95a9-00e08161165f',
  vhba: '414815ed-c58c-11da-95a9-00e08161165f',
  vnic: '8cd5994d-c58e-11da-95a9-00e08161165f',
  keyboard: 'c73416d0-b0b8-44af-b304-9d2ae99f1b3d',
  mouse: 'addf07d4-94a9-46e2-81c3-61abcdbdbd87',
  consoleVideo: '3cd6e705-d6a2-4aa5-ad5c-7b08889dffe2',
  siovm: '72120008-4aab-11dc-8530-444553544200',
} as const;

/** Aliases accepted in scenarios wherever a GUID is expected. */
export const GUID_ALIASES: Readonly<Record<string, string>> = {
  vhba: GUIDS.vhba,
  vnic: GUIDS.vnic,
  keyboard: GUIDS.keyboard,
  mouse: GUIDS.mouse,
  controlvm: GUIDS.controlvm,
  vbus: GUIDS.vbus,
};

/** A human description of a known channel type GUID (for hovers and logs). */
export const GUID_DESCRIPTIONS: Readonly<Record<string, string>> = {
  [GUIDS.controlvm]: 'controlvm channel (visorchipset)',
  [GUIDS.vbus]: 'vbus channel (a visorbus bus)',
  [GUIDS.vhba]: 'vhba — virtual SCSI HBA, "sparvhba" (visorhba)',
  [GUIDS.vnic]: 'vnic — virtual NIC, "ultravnic" (visornic)',
  [GUIDS.keyboard]: 'keyboard (visorinput)',
  [GUIDS.mouse]: 'mouse (visorinput)',
  [GUIDS.consoleVideo]: 'console video (efifb)',
  [GUIDS.siovm]: 'SIOVM bus instance (crash-message saving)',
};

/** Resolve an alias or GUID text to canonical lower-case text; undefined when neither. */
export function resolveGuid(text: string): string | undefined {
  const alias = GUID_ALIASES[text.toLowerCase()];
  if (alias) return alias;
  return isGuidText(text) ? text.toLowerCase() : undefined;
}
