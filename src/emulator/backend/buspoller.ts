/**
 * A service partition's poll of its devices: one timer per bus on the bus's back-end
 * thread, firing every jiffy while the bus has devices, serving each device in the order
 * it was created. The timer stops when the bus's last device goes.
 */
export type ScheduleOnBus = (bus: number, fn: () => void) => () => void;

export class BusPoller<T> {
  private readonly cancels = new Map<number, () => void>();
  private readonly byBus = new Map<number, T[]>();

  constructor(
    private readonly schedule: ScheduleOnBus,
    private readonly service: (item: T) => void,
  ) {}

  add(bus: number, item: T): void {
    let list = this.byBus.get(bus);
    if (!list) this.byBus.set(bus, (list = []));
    list.push(item);
    if (!this.cancels.has(bus)) this.tick(bus);
  }

  remove(bus: number, item: T): void {
    const list = (this.byBus.get(bus) ?? []).filter((x) => x !== item);
    if (list.length) {
      this.byBus.set(bus, list);
      return;
    }
    this.byBus.delete(bus);
    this.cancels.get(bus)?.();
    this.cancels.delete(bus);
  }

  stopAll(): void {
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }

  private tick(bus: number): void {
    const cancel = this.schedule(bus, () => {
      for (const item of this.byBus.get(bus) ?? []) this.service(item);
      if (this.cancels.has(bus)) this.tick(bus);
    });
    this.cancels.set(bus, cancel);
  }
}
