/**
 * scsi_error: time-outs and error handling of one host. Each issued command has a 30 s
 * timer; on expiry the host enters recovery (no new commands), and once nothing else is
 * in flight the error handler calls the driver's abort, then LUN reset, bus reset and
 * host reset handlers until one succeeds; commands it recovers are retried, the rest
 * fail and their LUN goes offline.
 */
import { DID, makeResult, opName } from './scsi';
import { ScsiCmnd, ScsiHostLib, SUCCESS } from './scsi_lib';

export abstract class ScsiHostEh extends ScsiHostLib {
  protected timedOut(cmd: ScsiCmnd): void {
    this.stats.timeouts++;
    this.inflight.delete(cmd);
    cmd.state = 'eh';
    cmd.sdev.busy--;
    this.hostBusy--;
    this.ehQueue.push(cmd);
    this.dev.warn(`scsi ${cmd.sdev.hctl}: ${opName(cmd.opcode)} #${cmd.serial} timed out after ${cmd.sdev.timeoutSeconds} s; waking the error handler`);
    if (this.state === 'running') this.state = 'recovery';
    this.tryStartEh();
  }

  protected issuedCount(): number {
    return this.inflight.size;
  }

  /** The error handler runs once every command still in flight has completed or timed out. */
  protected tryStartEh(): void {
    if (this.ehRunning || this.ehQueue.length === 0 || this.state === 'removed') return;
    if (this.issuedCount() > 0) return;
    this.ehRunning = true;
    this.ehStep();
  }

  protected ehStep(): void {
    const cmd = this.ehQueue[0];
    if (!cmd || this.state === 'removed') {
      this.ehRunning = false;
      if (this.state === 'recovery') this.state = 'running';
      this.run();
      return;
    }
    const escalate = (level: number): void => {
      const steps: [string, (finish: (rc: number) => void) => void][] = [
        ['abort', (f) => this.ops.abort(cmd, f)],
        ['device reset', (f) => this.ops.deviceReset(cmd.sdev, f)],
        ['bus reset', (f) => this.ops.busReset(cmd.sdev, f)],
        ['host reset', (f) => this.ops.hostReset(cmd.sdev, f)],
      ];
      if (level >= steps.length) {
        // Nothing worked: the LUN goes offline and its commands fail.
        cmd.sdev.state = 'offline';
        this.dev.err(`scsi ${cmd.sdev.hctl}: Device offlined - not ready after error recovery`);
        for (const c of this.ehQueue.filter((x) => x.sdev === cmd.sdev)) {
          this.ehQueue.splice(this.ehQueue.indexOf(c), 1);
          this.finish(c, -5, 'device offlined after error recovery');
        }
        for (const c of cmd.sdev.queue.splice(0)) this.finish(c, -5, 'device offlined after error recovery');
        this.ehStep();
        return;
      }
      const [name, fn] = steps[level];
      this.dev.info(`scsi ${cmd.sdev.hctl}: error handler: ${name} for ${opName(cmd.opcode)} #${cmd.serial}`);
      if (level === 0) this.stats.aborts++;
      else this.stats.resets++;
      fn((rc) => {
        if (rc !== SUCCESS) {
          this.dev.warn(`scsi ${cmd.sdev.hctl}: error handler: ${name} failed`);
          escalate(level + 1);
          return;
        }
        // Recovered: the commands in the handler's scope are retried (or fail when out of retries).
        const inScope = (c: ScsiCmnd): boolean =>
          level === 0 ? c === cmd : level === 1 ? c.sdev === cmd.sdev : level === 2 ? c.channel === cmd.channel : true;
        for (const c of this.ehQueue.filter(inScope)) {
          this.ehQueue.splice(this.ehQueue.indexOf(c), 1);
          c.result = makeResult(level === 0 ? DID.ABORT : DID.RESET, 0);
          if (c.retries < c.allowed) {
            c.retries++;
            this.stats.retries++;
            this.requeue(c);
          } else {
            this.logFailure(c, 'timed out (out of retries)');
            this.finish(c, -5, 'timed out (out of retries)');
          }
        }
        this.ehStep();
      });
    };
    escalate(0);
  }
}
