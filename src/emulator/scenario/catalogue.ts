/**
 * The catalogue of scenario commands: every command's name, syntax, description and
 * snippet (completion, hovers, console suggestions, the README's table), and the fixed
 * words some arguments take (built-in drivers, fault kinds, mouse buttons, segment
 * states, key names). The grammar checks lines against these same lists.
 */

import { BUILTIN_DRIVER_NAMES } from '../drivers/names';

export const BUILTIN_DRIVERS: readonly string[] = BUILTIN_DRIVER_NAMES;

export const FAULT_KINDS: readonly string[] = ['medium-error', 'lost-response', 'backend-error', 'timeout', 'drop-frame', 'queue-full'];

export const MOUSE_BUTTONS: readonly string[] = ['left', 'right', 'middle'];

/** Segment states accepted by name in `device state` (protocol reference §3.6). */
export const SEGMENT_STATES: Readonly<Record<string, number>> = {
  running: 0x00f7,
  paused: 0x0077,
  standby: 0x0073,
};

/** Key names accepted by `keyboard ... press|release|tap` without a warning: the keycode table's own list. */
export { KEY_NAMES } from '../drivers/keycodes';

/** One entry of the command reference (completion, hovers, README). */
export interface CommandInfo {
  /** e.g. 'device create' or, for back-end families, 'disk attach' */
  name: string;
  /** e.g. 'device create BUS:DEV type=GUID|alias [bytes=N] ...' */
  syntax: string;
  description: string;
  /** A VS Code snippet body. */
  snippet: string;
}

const DEV = '${1:2}:${2:0}';

export const COMMANDS: readonly CommandInfo[] = [
  {
    name: 'chipset init',
    syntax: 'chipset init [features=N]',
    description: 'Send CHIPSET_INIT to the guest (features defaults to 0); the guest answers with its own features.',
    snippet: 'chipset init',
  },
  { name: 'chipset ready', syntax: 'chipset ready', description: 'Send CHIPSET_READY.', snippet: 'chipset ready' },
  { name: 'chipset selftest', syntax: 'chipset selftest', description: 'Send CHIPSET_SELFTEST.', snippet: 'chipset selftest' },
  { name: 'chipset stop', syntax: 'chipset stop', description: 'Send CHIPSET_STOP.', snippet: 'chipset stop' },
  {
    name: 'driver load',
    syntax: 'driver load NAME|PATH',
    description: 'Load a function driver: a built-in (visorhba, visornic, visorinput) or your own module by path (./my-driver.js).',
    snippet: 'driver load ${1|visorhba,visornic,visorinput|}',
  },
  {
    name: 'driver unload',
    syntax: 'driver unload NAME',
    description: 'Unregister a function driver; its devices are removed from it.',
    snippet: 'driver unload ${1|visorhba,visornic,visorinput|}',
  },
  {
    name: 'autoload',
    syntax: 'autoload on|off',
    description: 'Load the matching built-in driver automatically when a device of its type appears.',
    snippet: 'autoload ${1|on,off|}',
  },
  {
    name: 'bus create',
    syntax: 'bus create BUS [name=S] [bytes=N] [addr=N] [handle=N] [guid=GUID] [devcount=N]',
    description: 'Send BUS_CREATE: the back-end builds a vbus channel and the guest creates visorbus<BUS>.',
    snippet: 'bus create ${1:2} name=${2:io}',
  },
  {
    name: 'bus configure',
    syntax: 'bus configure BUS [handle=N] [name=S] [guid=GUID]',
    description: 'Send BUS_CONFIGURE (guest handle, partition name and GUID).',
    snippet: 'bus configure ${1:2} handle=${2:0x1}',
  },
  { name: 'bus destroy', syntax: 'bus destroy BUS', description: 'Send BUS_DESTROY.', snippet: 'bus destroy ${1:2}' },
  {
    name: 'device create',
    syntax: 'device create BUS:DEV type=GUID|alias [bytes=N] [addr=N] [zone=GUID] [partition=N] [version=N] [chtype=GUID] [inst=GUID]',
    description: 'Send DEVICE_CREATE: the back-end builds the channel and the guest adds vbus<BUS>:dev<DEV>, probing a matching driver.',
    snippet: 'device create ' + DEV + ' type=${3|vhba,vnic,keyboard,mouse|}',
  },
  { name: 'device destroy', syntax: 'device destroy BUS:DEV', description: 'Send DEVICE_DESTROY.', snippet: 'device destroy ' + DEV },
  {
    name: 'device pause',
    syntax: 'device pause BUS:DEV',
    description: "DEVICE_CHANGESTATE to standby: the driver's pause() runs.",
    snippet: 'device pause ' + DEV,
  },
  {
    name: 'device resume',
    syntax: 'device resume BUS:DEV',
    description: "DEVICE_CHANGESTATE to running: the driver's resume() runs.",
    snippet: 'device resume ' + DEV,
  },
  { name: 'device configure', syntax: 'device configure BUS:DEV', description: 'Send DEVICE_CONFIGURE.', snippet: 'device configure ' + DEV },
  {
    name: 'device state',
    syntax: 'device state BUS:DEV running|standby|paused|N',
    description: 'Send a raw DEVICE_CHANGESTATE with this segment state (running=0xf7, paused=0x77, standby=0x73).',
    snippet: 'device state ' + DEV + ' ${3|running,standby,paused|}',
  },
  {
    name: 'partition recover',
    syntax: 'partition recover BUS',
    description: 'Service partition recovery: pause every device on the bus, then resume them.',
    snippet: 'partition recover ${1:2}',
  },
  {
    name: 'wait',
    syntax: 'wait N(ms|s|us|j)',
    description: 'Advance the virtual clock (channel_interrupt polls run); j = jiffies.',
    snippet: 'wait ${1:10}${2|ms,s,us,j|}',
  },
  {
    name: 'expect',
    syntax: 'expect /sys/PATH|BUS:DEV.FIELD|controlvm.FIELD|counter NAME ==|!=|<|<=|>|>=|contains VALUE',
    description: 'Check a sysfs attribute, a channel field or a counter; a failed expect fails `visorbus-emu test`.',
    snippet: 'expect ${1:/sys/bus/visorbus/devices/vbus2:dev0/driver} ${2|==,!=,<,<=,>,>=,contains|} ${3:visorhba}',
  },
  {
    name: 'echo',
    syntax: 'echo VALUE > /sys/PATH',
    description: 'Write a value to a sysfs attribute.',
    snippet: 'echo ${1:1} > ${2:/sys/devices/platform/visorchipset/install/textid}',
  },
  {
    name: 'parahotplug',
    syntax: 'parahotplug BUS:DEV enable|disable',
    description: 'DEVICE_CHANGESTATE with phys_device set: a parahotplug request to the guest.',
    snippet: 'parahotplug ' + DEV + ' ${3|enable,disable|}',
  },
  {
    name: 'controlvm send',
    syntax: 'controlvm send id=N [bus=N] [dev=N] [flags=N] [status=N] [handle=N] [state=N] [size=N] [payload=HEX] [payload_bytes=N]',
    description: "Put a raw controlvm message in the guest's command queue.",
    snippet: 'controlvm send id=${1:0x105} bus=${2:2}',
  },
  {
    name: 'signal insert',
    syntax: 'signal insert BUS:DEV|controlvm queue=N "text"|hex:BYTES',
    description: 'The back-end inserts a signal into a queue of the channel.',
    snippet: 'signal insert ' + DEV + ' queue=${3:0} ${4:hex:00}',
  },
  {
    name: 'signal remove',
    syntax: 'signal remove BUS:DEV|controlvm queue=N',
    description: 'The back-end removes a signal from a queue of the channel.',
    snippet: 'signal remove ' + DEV + ' queue=${3:0}',
  },
  {
    name: 'memory write',
    syntax: 'memory write ADDR|BUS:DEV+OFFSET|controlvm+OFFSET hex:BYTES|"text"|u8 N|u16 N|u32 N|u64 N',
    description: 'Write bytes into guest memory (a channel offset or an absolute address), e.g. to corrupt a header.',
    snippet: 'memory write ' + DEV + '+${3:0x40} ${4|u32,u8,u16,u64|} ${5:0}',
  },
  {
    name: 'disk attach',
    syntax: 'disk BUS:DEV attach lun=N image=PATH [size=N] [id=N] [readonly=1] [vendor=S] [model=S]',
    description: 'Attach a disk image (created sparse when absent) as a LUN of a vhba device.',
    snippet: 'disk ' + DEV + ' attach lun=${3:0} image=${4:disk.img}',
  },
  {
    name: 'disk detach',
    syntax: 'disk BUS:DEV detach lun=N [id=N]',
    description: 'Detach a LUN; its image is flushed and closed.',
    snippet: 'disk ' + DEV + ' detach lun=${3:0}',
  },
  {
    name: 'disk rescan',
    syntax: 'disk BUS:DEV rescan',
    description: 'Make the guest rescan the SCSI host (finds LUNs attached later).',
    snippet: 'disk ' + DEV + ' rescan',
  },
  {
    name: 'disk read',
    syntax: 'disk BUS:DEV read lun=N lba=N count=N',
    description: 'Read blocks from a LUN through the guest driver.',
    snippet: 'disk ' + DEV + ' read lun=${3:0} lba=${4:0} count=${5:1}',
  },
  {
    name: 'disk write',
    syntax: 'disk BUS:DEV write lun=N lba=N "data"|hex:BYTES',
    description: 'Write data to a LUN through the guest driver.',
    snippet: 'disk ' + DEV + ' write lun=${3:0} lba=${4:0} ${5:hex:00}',
  },
  {
    name: 'disk flush',
    syntax: 'disk BUS:DEV flush lun=N',
    description: 'Flush a LUN.',
    snippet: 'disk ' + DEV + ' flush lun=${3:0}',
  },
  {
    name: 'net send',
    syntax: 'net BUS:DEV send "frame"|hex:BYTES',
    description: 'The back-end delivers a frame to the guest.',
    snippet: 'net ${1:2}:${2:1} send "${3:hello}"',
  },
  {
    name: 'net xmit',
    syntax: 'net BUS:DEV xmit "frame"|hex:BYTES',
    description: 'The guest transmits a frame through the driver.',
    snippet: 'net ${1:2}:${2:1} xmit "${3:hello}"',
  },
  {
    name: 'net link',
    syntax: 'net BUS:DEV link up|down',
    description: 'Change the link state the back-end reports.',
    snippet: 'net ${1:2}:${2:1} link ${3|up,down|}',
  },
  { name: 'net open', syntax: 'net BUS:DEV open', description: 'Open the network interface (ndo_open).', snippet: 'net ${1:2}:${2:1} open' },
  { name: 'net close', syntax: 'net BUS:DEV close', description: 'Close the network interface (ndo_stop).', snippet: 'net ${1:2}:${2:1} close' },
  {
    name: 'keyboard type',
    syntax: 'keyboard BUS:DEV type "text"',
    description: 'Type text: press and release a key for every character.',
    snippet: 'keyboard ${1:2}:${2:2} type "${3:hello}"',
  },
  {
    name: 'keyboard press',
    syntax: 'keyboard BUS:DEV press KEY',
    description: 'Press a key (a name like enter, a, f1, capslock, or a key code).',
    snippet: 'keyboard ${1:2}:${2:2} press ${3:enter}',
  },
  {
    name: 'keyboard release',
    syntax: 'keyboard BUS:DEV release KEY',
    description: 'Release a key.',
    snippet: 'keyboard ${1:2}:${2:2} release ${3:enter}',
  },
  {
    name: 'keyboard tap',
    syntax: 'keyboard BUS:DEV tap KEY',
    description: 'Press and release a key.',
    snippet: 'keyboard ${1:2}:${2:2} tap ${3:enter}',
  },
  {
    name: 'keyboard lock',
    syntax: 'keyboard BUS:DEV lock caps|num|scroll on|off',
    description: 'Set a locking key state (SET_LOCKING_KEY_STATE); the guest toggles its LED when it differs.',
    snippet: 'keyboard ${1:1}:${2:1} lock ${3|caps,num,scroll|} ${4|on,off|}',
  },
  {
    name: 'keyboard raw',
    syntax: 'keyboard BUS:DEV raw action=N [arg1=N] [arg2=N] [arg3=N]',
    description: 'Send one raw input report (any action code).',
    snippet: 'keyboard ${1:1}:${2:1} raw action=${3:64} arg1=${4:30}',
  },
  {
    name: 'mouse move',
    syntax: 'mouse BUS:DEV move X Y',
    description: 'Move the pointer to X, Y.',
    snippet: 'mouse ${1:2}:${2:3} move ${3:100} ${4:100}',
  },
  {
    name: 'mouse click',
    syntax: 'mouse BUS:DEV click [left|right|middle]',
    description: 'Click a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} click ${3|left,right,middle|}',
  },
  {
    name: 'mouse dclick',
    syntax: 'mouse BUS:DEV dclick [left|right|middle]',
    description: 'Double-click a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} dclick ${3|left,right,middle|}',
  },
  {
    name: 'mouse down',
    syntax: 'mouse BUS:DEV down [left|right|middle]',
    description: 'Press a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} down ${3|left,right,middle|}',
  },
  {
    name: 'mouse up',
    syntax: 'mouse BUS:DEV up [left|right|middle]',
    description: 'Release a button (default left).',
    snippet: 'mouse ${1:2}:${2:3} up ${3|left,right,middle|}',
  },
  {
    name: 'mouse wheel',
    syntax: 'mouse BUS:DEV wheel N',
    description: 'Turn the wheel N notches (negative: towards the user).',
    snippet: 'mouse ${1:2}:${2:3} wheel ${3:1}',
  },
  {
    name: 'mouse resolution',
    syntax: 'mouse BUS:DEV resolution W H',
    description: 'Write x_res / y_res into the mouse channel (the guest reads them when it probes).',
    snippet: 'mouse ${1:1}:${2:2} resolution ${3:1024} ${4:768}',
  },
  {
    name: 'mouse raw',
    syntax: 'mouse BUS:DEV raw action=N [arg1=N] [arg2=N] [arg3=N]',
    description: 'Send one raw input report (any action code).',
    snippet: 'mouse ${1:1}:${2:2} raw action=${3:1} arg1=${4:0} arg2=${5:0}',
  },
  {
    name: 'input open',
    syntax: 'input BUS:DEV open [name=S]',
    description: 'A user-space reader opens the input device.',
    snippet: 'input ${1:2}:${2:2} open',
  },
  {
    name: 'input close',
    syntax: 'input BUS:DEV close [name=S]',
    description: 'The user-space reader closes the input device.',
    snippet: 'input ${1:2}:${2:2} close',
  },
  {
    name: 'fault',
    syntax: 'fault BUS:DEV medium-error|lost-response|backend-error|timeout|drop-frame|queue-full [KEY=VALUE ...]',
    description: 'Make the back-end of a device misbehave once (or as the options say).',
    snippet: 'fault ' + DEV + ' ${3|medium-error,lost-response,backend-error,timeout,drop-frame,queue-full|}',
  },
  { name: 'log', syntax: 'log "message"', description: 'Print a message to the trace.', snippet: 'log "${1:message}"' },
];
