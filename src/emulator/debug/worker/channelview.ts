/**
 * What the debugger shows of a channel: its decoded fields, queues and pending signals (the
 * contract's channel view plus each field's layout), and which channel it is.
 */
import type { StructField } from '../../protocol/layout';
import type { BusDevice } from '../../visorbus/visordevice';
import type { ChannelResponseBody, Field as ContractField, PendingSignal, QueueView as ContractQueueView } from '../contract';

/** A decoded field (docs/dap-extensions.md), plus the layout field it comes from (for setVariable). */
export interface Field extends ContractField {
  layout?: StructField;
}

export interface SignalView extends Omit<PendingSignal, 'fields'> {
  fields: Field[];
}

export interface QueueView extends Omit<ContractQueueView, 'fields' | 'pending'> {
  fields: Field[];
  pending: SignalView[];
}

export interface ChannelView extends Omit<ChannelResponseBody, 'header' | 'extra' | 'queues'> {
  header: Field[];
  extra: Field[];
  queues: QueueView[];
}

export type ChannelKind = 'controlvm' | 'vhba' | 'vnic' | 'keyboard' | 'mouse' | 'vbus' | 'generic';

/** A channel the debugger can show: a device's, a bus's, or the controlvm channel. */
export interface ChannelTarget {
  id: string;
  physaddr: number;
  nbytes: number;
  typeGuid: string;
  typeName: string;
  device?: BusDevice;
}
