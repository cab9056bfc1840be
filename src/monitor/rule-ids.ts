/** The rule ids of the monitor's anomalies (src/monitor/): `monitor.<anomaly kind>`. */
import type { Anomaly } from './monitor.js';

export type MonitorRuleId = `monitor.${Anomaly['kind']}`;
