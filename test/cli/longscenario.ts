/**
 * The long scenario of the headless-run memory tests (CLI and VS Code's Run Scenario) and the
 * peak-memory reading they both use.
 */
/**
 * Ten opened keyboards polled every 10 ms for five waits of 600 s: two events a device a
 * poll, about 6 million events (a trace of about 550 MB).
 */
export function longScenario(devices = 10, waits = 5): string {
  const lines = ['chipset init', 'bus create 1 name=console'];
  for (let i = 1; i <= devices; i++) lines.push(`device create 1:${i} type=keyboard`);
  for (let i = 1; i <= devices; i++) lines.push(`input 1:${i} open`);
  for (let i = 0; i < waits; i++) lines.push('wait 600s');
  lines.push('expect /sys/bus/visorbus/devices/vbus1:dev1/driver == visorinput');
  return lines.join('\n') + '\n';
}

export { peakRssMiB } from '../robust/support/proc';
